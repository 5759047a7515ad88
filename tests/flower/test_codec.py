"""Records on the wire and on the node: protocol messages and client states survive Flower's encoding exactly."""

from __future__ import annotations

import pytest
import torch

from fedgen_registry.federation.flower.codec import decode_message, decode_state, encode_message, encode_state
from fedgen_registry.federation.protocol import Message
from tests.flower.conftest import assert_same_state


def test_an_md_gan_worker_state_reloads_bit_exact_with_its_types(make_engine) -> None:
    engine = make_engine("md-gan", rounds=1)
    engine.run()  # one discriminator step: Adam now holds step counts and moments
    state = engine.clients[0].state_dict()
    arrays, layout = encode_state(state)
    restored = decode_state(arrays, layout)
    assert_same_state(state, restored)
    groups = restored["optimizer"]["param_groups"][0]
    assert isinstance(groups["betas"], tuple) and groups["foreach"] is None
    assert all(isinstance(key, int) for key in restored["optimizer"]["state"])
    fresh = engine.algorithm.make_client(0)
    fresh.load_state_dict(restored)  # the worker accepts it: same discriminator, same Adam moments
    assert_same_state(fresh.state_dict(), state)


def test_a_message_round_trips_with_dtypes_and_scalars() -> None:
    message = Message(
        "train.disc_step",
        {"fake": torch.randn(4, 3), "labels": torch.arange(4), "step": torch.tensor(2.0)},
        {"disc_steps": 2, "lr": 1e-3, "name": "x", "flag": True},
    )
    restored = decode_message(encode_message(message), message.message_type)
    assert restored.message_type == message.message_type and dict(restored.config) == dict(message.config)
    assert_same_state(dict(message.arrays), dict(restored.arrays))
    assert restored.arrays["labels"].dtype == torch.int64 and restored.arrays["step"].shape == ()


def test_a_state_with_objects_is_refused() -> None:
    with pytest.raises(TypeError, match="tensors and primitive containers only"):
        encode_state({"optimizer": torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)})
    with pytest.raises(TypeError, match="keys must be str or int"):
        encode_state({(1, 2): torch.zeros(1)})
