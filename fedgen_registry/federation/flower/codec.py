"""Protocol messages and client states as Flower records, and back, bit-exact.

A protocol :class:`~fedgen_registry.federation.protocol.Message` becomes a ``RecordDict`` with an
``ArrayRecord`` (its tensors, serialised by Flower through NumPy without pickling) and a
``ConfigRecord`` (its scalars); the engine adds its own ``ConfigRecord`` under :data:`ENGINE`.

A client state (nested dicts, lists and tuples of tensors and scalars, such as an optimizer's state dict
with integer keys and ``betas`` tuples) becomes an ``ArrayRecord`` of its tensors plus a JSON layout
that records the nesting and the exact container and key types, so a state reloads as it was saved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, RecordDict

from fedgen_registry.federation.flower.wire import ARRAYS, CONFIG
from fedgen_registry.federation.protocol import Message, State


def to_array_record(arrays: Mapping[str, torch.Tensor]) -> ArrayRecord:
    return ArrayRecord({name: Array(tensor.detach().cpu().numpy()) for name, tensor in arrays.items()})


def from_array_record(record: ArrayRecord) -> dict[str, torch.Tensor]:
    return {name: torch.from_numpy(array.numpy()) for name, array in record.items()}


def encode_message(message: Message) -> RecordDict:
    """The message's payload; its ``message_type`` travels in Flower's metadata."""
    return RecordDict({ARRAYS: to_array_record(message.arrays), CONFIG: ConfigRecord(dict(message.config))})


def decode_message(content: RecordDict, message_type: str) -> Message:
    return Message(message_type, from_array_record(content.array_records[ARRAYS]), dict(content.config_records[CONFIG]))


def encode_state(state: State) -> tuple[ArrayRecord, str]:
    """``(tensors, layout)``: the tensors numbered in visiting order, the layout as JSON that refers to them."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, torch.Tensor):
            tensors[str(len(tensors))] = node
            return {"tensor": str(len(tensors) - 1)}
        if isinstance(node, Mapping):
            for key in node:
                if not isinstance(key, (str, int)):
                    raise TypeError(f"a client state's keys must be str or int, got {key!r}")
            return {"dict": [[key, walk(value)] for key, value in node.items()]}
        if isinstance(node, (list, tuple)):
            return {"list" if isinstance(node, list) else "tuple": [walk(value) for value in node]}
        if node is None or isinstance(node, (bool, int, float, str)):
            return {"value": node}
        raise TypeError(f"a client state holds tensors and primitive containers only, got {type(node).__name__}")

    layout = json.dumps(walk(state))
    return to_array_record(tensors), layout


def decode_state(record: ArrayRecord, layout: str) -> State:
    tensors = from_array_record(record)

    def build(node: dict[str, Any]) -> Any:
        ((kind, value),) = node.items()
        if kind == "tensor":
            return tensors[value]
        if kind == "dict":
            return {key: build(item) for key, item in value}
        if kind in ("list", "tuple"):
            items = [build(item) for item in value]
            return items if kind == "list" else tuple(items)
        return value

    state = build(json.loads(layout))
    if not isinstance(state, dict):
        raise TypeError(f"a client state is a dict, this layout holds a {type(state).__name__}")
    return state
