"""The ``local`` engine: delivers the protocol's messages as in-process calls, deterministically.

It owns what every algorithm would otherwise re-write: the round loop, client sampling, seeding of each
call, simulated drop-outs and clients that raise, the quorum with retries, the check for non-finite
losses, the per-round checkpoint and history line, and the progress bar. A failed round is rolled back
to the last checkpointed state before it is retried, so retries and resumes see exactly the state a
clean run would.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fedgen_registry.federation.checkpoint import CheckpointError, clone_state, load_checkpoint, save_checkpoint
from fedgen_registry.federation.config import FederationConfig
from fedgen_registry.federation.errors import FederationError, one_line
from fedgen_registry.federation.progress import RoundProgress
from fedgen_registry.federation.protocol import Algorithm, BatchedClient, Client, Message, Server, State
from fedgen_registry.federation.seeding import derive_seed, deterministic, seed_everything

CHECKPOINT = Path("checkpoints") / "last.pt"
BUILD_PROGRESS_FROM = 200
"""From this many clients the engine shows a bar while it builds them (a thousand models take seconds)."""
HISTORY = "history.jsonl"


@dataclass(frozen=True)
class Delivery:
    """One message on the wire, as an observer sees it (``direction`` is ``"down"`` or ``"up"``)."""

    server_round: int
    stage: str
    client: int
    direction: str
    message: Message


Observer = Callable[[Delivery], None]


class _QuorumMissedError(Exception):
    """A round attempt that ended with too few clients; the engine rolls back and retries."""


class LocalEngine:
    """Run an :class:`Algorithm` in this process. Build it, optionally patch clients (tests), then :meth:`run`."""

    def __init__(
        self, algorithm: Algorithm[Any], run_dir: Path, *, quiet: bool = False, observer: Observer | None = None
    ) -> None:
        settings = algorithm.config
        if not isinstance(settings, FederationConfig):
            raise TypeError(f"{type(algorithm).__name__}.config must extend FederationConfig")
        self.algorithm = algorithm
        self.settings = settings
        self.run_dir = Path(run_dir)
        self.quiet = quiet
        self.observer = observer
        with deterministic(settings.torch_threads):
            seed_everything(derive_seed(settings.seed, "init", "server"))
            self.server: Server = algorithm.make_server()
            self.clients: dict[int, Client] = {}
            count = algorithm.num_clients
            with RoundProgress(count, 0, quiet=quiet or count < BUILD_PROGRESS_FROM, label="building client") as bar:
                for cid in range(count):
                    seed_everything(derive_seed(settings.seed, "init", "client", cid))
                    self.clients[cid] = algorithm.make_client(cid)
                    bar.advance(cid + 1, {})
        if settings.vectorise_clients:
            self._check_vectorisable()
        self.history: list[dict[str, Any]] = []
        self._last_good = self._state()
        self._last_good_round = 0

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / CHECKPOINT

    # ------------------------------------------------------------------------------------------ loop

    def run(self) -> list[dict[str, Any]]:
        """Run the remaining rounds (all of them, unless :meth:`resume` came first); return the history."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self._last_good_round == 0:
            (self.run_dir / HISTORY).write_text("", encoding="utf-8")
        first = self._last_good_round + 1
        with (
            deterministic(self.settings.torch_threads),
            RoundProgress(self.settings.rounds, first - 1, quiet=self.quiet) as progress,
        ):
            for server_round in range(first, self.settings.rounds + 1):
                record = self._run_round_with_retries(server_round)
                self._commit(server_round, record)
                progress.advance(server_round, record["metrics"])
        return self.history

    def _run_round_with_retries(self, server_round: int) -> dict[str, Any]:
        failed_attempts: list[dict[str, Any]] = []
        for attempt in range(self.settings.round_retries + 1):
            started = time.perf_counter()
            try:
                record = self._run_round(server_round, attempt)
            except _QuorumMissedError as missed:
                failed_attempts.append({"attempt": attempt, "error": str(missed)})
                self._restore(self._last_good)
                continue
            except FederationError:
                self._restore(self._last_good)
                raise
            record["failed_attempts"] = failed_attempts
            record["seconds"] = round(time.perf_counter() - started, 6)
            return record
        raise FederationError(
            f"round {server_round} missed its quorum in all {len(failed_attempts)} attempt(s) "
            f"({failed_attempts[-1]['error']}); the run stopped. {self._last_good_note()}"
        )

    def _run_round(self, server_round: int, attempt: int) -> dict[str, Any]:
        seed = self.settings.seed
        available = sorted(self.clients)
        sampled = self.server.sample(
            server_round, available, np.random.default_rng(derive_seed(seed, server_round, attempt, "sample"))
        )
        faults = np.random.default_rng(derive_seed(seed, server_round, attempt, "faults"))
        dropped = [cid for cid in sampled if faults.random() < self.settings.client_failure_rate]
        failures = [{"client": cid, "stage": "sample", "reason": "simulated drop-out"} for cid in dropped]
        active = [cid for cid in sampled if cid not in dropped]
        needed = math.ceil(self.settings.quorum * len(sampled) - 1e-9)  # 0.3 * 10 is 3.0000000000000004
        metrics: dict[str, float] = {}
        traffic = {"bytes_down": 0, "bytes_up": 0}

        def check_quorum(stage: str) -> None:
            if len(active) < needed:
                raise _QuorumMissedError(
                    f"attempt {attempt} at stage {stage!r}: {len(active)} of {len(sampled)} sampled clients left, "
                    f"quorum {self.settings.quorum} needs {needed}"
                )

        check_quorum("sample")
        for stage in self.server.stages(server_round):
            seed_everything(derive_seed(seed, server_round, attempt, "server", stage, "configure"))
            messages = self.server.configure(stage, server_round, list(active))
            replies = self._deliver(server_round, attempt, stage, messages, active, failures, traffic)
            check_quorum(stage)
            seed_everything(derive_seed(seed, server_round, attempt, "server", stage, "aggregate"))
            stage_metrics = self.server.aggregate(stage, server_round, replies)
            self._check_finite(server_round, stage, stage_metrics, "the server")
            metrics.update(stage_metrics)
        return {
            "round": server_round,
            "attempt": attempt,
            "sampled": sampled,
            "completed": active,
            "failures": failures,
            "metrics": metrics,
            **traffic,
        }

    def _deliver(
        self,
        server_round: int,
        attempt: int,
        stage: str,
        messages: Mapping[int, Message],
        active: list[int],
        failures: list[dict[str, Any]],
        traffic: dict[str, int],
    ) -> dict[int, Message]:
        """Each client's reply to its message, in the order of ``messages``; a client that raises drops out.

        With ``vectorise_clients``, the clients whose class batches this message only :meth:`prepare
        <fedgen_registry.federation.protocol.BatchedClient.prepare>` it under their own seed here, and each
        class then answers its prepared clients together; a batch that raises fails all of its clients.
        """
        seed = self.settings.seed
        replies: dict[int, Message] = {}
        prepared: dict[type[BatchedClient], list[tuple[int, Message, Any]]] = {}

        def drop(cid: int, reason: str) -> None:
            failures.append({"client": cid, "stage": stage, "reason": reason})
            active.remove(cid)
            self.clients[cid].load_state_dict(clone_state(self._last_good["clients"][cid]))

        def accept(cid: int, reply: Message) -> None:
            traffic["bytes_up"] += reply.nbytes()
            self._observe(server_round, stage, cid, "up", reply)
            self._check_finite(server_round, stage, reply.config, f"client {cid}")
            replies[cid] = reply

        for cid, message in messages.items():
            if cid not in active:
                raise FederationError(
                    f"round {server_round}: the server addressed client {cid}, which is not taking part"
                )
            traffic["bytes_down"] += message.nbytes()
            self._observe(server_round, stage, cid, "down", message)
            seed_everything(derive_seed(seed, server_round, attempt, "client", cid, stage))
            client = self.clients[cid]
            batched = self._batches(client, message)
            try:  # a crashing client is a fault to survive, not a bug to propagate
                answer = client.prepare(message) if batched else client.handle(message)  # type: ignore[attr-defined]
            except Exception as exc:
                drop(cid, f"{type(exc).__name__}: {exc}")
                continue
            if batched:
                prepared.setdefault(type(client), []).append((cid, message, answer))  # type: ignore[arg-type]
            else:
                accept(cid, answer)
        for kind, batch in prepared.items():
            try:
                answers = kind.handle_prepared(
                    [self.clients[cid] for cid, _, _ in batch], [m for _, m, _ in batch], [p for _, _, p in batch]
                )
            except Exception as exc:
                for cid, _, _ in batch:
                    drop(cid, f"batched update of {len(batch)} clients: {type(exc).__name__}: {exc}")
                continue
            for (cid, _, _), reply in zip(batch, answers, strict=True):
                accept(cid, reply)
        return {cid: replies[cid] for cid in messages if cid in replies}

    def _batches(self, client: Client, message: Message) -> bool:
        return (
            self.settings.vectorise_clients
            and isinstance(client, BatchedClient)
            and message.message_type in type(client).batched_messages
        )

    def _check_vectorisable(self) -> None:
        """Refuse ``vectorise_clients`` up front where no client can be batched, saying why."""
        kinds = {type(client): client for client in self.clients.values()}
        for kind, client in kinds.items():
            if not isinstance(client, BatchedClient) or not kind.batched_messages:
                raise FederationError(
                    f"vectorise_clients=true: {kind.__name__} (the clients of {type(self.algorithm).__name__}) has no "
                    "batched update; leave vectorise_clients false"
                )
            refusal = client.batching_refusal()
            if refusal:
                raise FederationError(f"vectorise_clients=true cannot apply: {refusal}; leave vectorise_clients false")

    def _observe(self, server_round: int, stage: str, cid: int, direction: str, message: Message) -> None:
        if self.observer is not None:
            self.observer(Delivery(server_round, stage, cid, direction, message))

    def _check_finite(self, server_round: int, stage: str, values: Mapping[str, Any], source: str) -> None:
        for key, value in values.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise FederationError(
                    f"round {server_round}: non-finite {key}={value} from {source} at stage {stage!r}; "
                    f"the run stopped. {self._last_good_note()}"
                )

    def _last_good_note(self) -> str:
        if self._last_good_round == 0:
            return "No checkpoint was written (no round completed)."
        return f"The last good checkpoint is round {self._last_good_round} in {self.checkpoint_path}."

    # ------------------------------------------------------------------------------------------ state

    def _state(self) -> State:
        return clone_state(
            {"server": self.server.state_dict(), "clients": {cid: c.state_dict() for cid, c in self.clients.items()}}
        )

    def _restore(self, state: State) -> None:
        self.server.load_state_dict(clone_state(state["server"]))
        for cid, client in self.clients.items():
            client.load_state_dict(clone_state(state["clients"][cid]))

    def _commit(self, server_round: int, record: dict[str, Any]) -> None:
        """Checkpoint first, then the history line: a kill in between loses a line the resume rewrites.

        A write that fails (a full disk, a folder that became unwritable) stops the run in one line: the
        checkpoint is replaced atomically, so the previous round's stays whole and the message names it.
        """
        state, history = self._state(), [*self.history, record]
        try:
            save_checkpoint(
                self.checkpoint_path,
                {
                    "round": server_round,
                    "settings": self.settings.model_dump(mode="json"),
                    "state": state,
                    "history": json.dumps(history),  # one string: pickling R growing records per round is O(R^2)
                },
            )
        except OSError as exc:
            raise FederationError(
                f"cannot write the checkpoint of round {server_round} ({one_line(exc)}); the run stopped. "
                f"{self._last_good_note()} Once the folder is writable, --resume goes on from there."
            ) from None
        self.history, self._last_good, self._last_good_round = history, state, server_round
        try:
            with (self.run_dir / HISTORY).open("a", encoding="utf-8") as stream:
                stream.write(json.dumps(record) + "\n")
        except OSError as exc:
            raise FederationError(
                f"cannot append round {server_round} to {HISTORY} ({one_line(exc)}); the run stopped. "
                f"{self._last_good_note()} It holds the history; --resume rewrites {HISTORY} from it."
            ) from None

    def resume(self) -> None:
        """Load the run directory's checkpoint (refusing one written with other settings but ``rounds``)."""
        if not self.checkpoint_path.exists():
            raise FederationError(f"nothing to resume: no checkpoint at {self.checkpoint_path}")
        fresh = "; rerun without --resume to start afresh"
        try:
            payload = load_checkpoint(self.checkpoint_path, required=("round", "settings", "state", "history"))
        except CheckpointError as exc:
            raise FederationError(f"cannot resume: {exc}{fresh}") from None
        saved, current = payload["settings"], self.settings.model_dump(mode="json")
        if not isinstance(saved, dict):
            raise FederationError(f"cannot resume: {self.checkpoint_path} holds no settings{fresh}")
        changed = sorted(k for k in current if k != "rounds" and saved.get(k) != current[k])
        if changed:
            raise FederationError(
                f"cannot resume {self.run_dir}: its checkpoint was written with other settings ({', '.join(changed)}); "
                "only 'rounds' may change on resume"
            )
        try:
            self._restore(payload["state"])
            round_, history = int(payload["round"]), json.loads(payload["history"])
            if not isinstance(history, list):
                raise TypeError(f"history is a {type(history).__name__}, not a list")
        except Exception as exc:  # wrong keys or shapes: a checkpoint of another algorithm, or a damaged one
            raise FederationError(
                f"cannot resume: {self.checkpoint_path} does not fit {type(self.server).__name__}'s state "
                f"({one_line(exc)}){fresh}"
            ) from None
        self._last_good = clone_state(payload["state"])
        self._last_good_round = round_
        self.history = history
        lines = "".join(json.dumps(record) + "\n" for record in self.history)
        (self.run_dir / HISTORY).write_text(lines, encoding="utf-8")
