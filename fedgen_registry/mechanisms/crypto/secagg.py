"""Secure aggregation by pairwise additive masks: the server learns the sum of the updates, not one of them.

A simplified, honest-but-curious version of Bonawitz et al. (CCS 2017), in three stages of a round:

1. ``secagg.keys``: every client makes a fresh X25519 key pair and sends its public key; the server
   relays all of them with the next message.
2. (the algorithm's own stage, e.g. ``train``): each client encodes its update in fixed point on the ring
   Z_(2^64), and for every other client ``j`` derives a seed shared with ``j`` only (X25519 Diffie-Hellman,
   then HKDF-SHA256) and expands it with AES-256-CTR into a mask ``m_ij``; the lower id adds it and the
   higher id subtracts it. The server sees masked vectors only; over the survivors the pairwise masks
   cancel exactly (integer arithmetic, no rounding), so it recovers the exact sum of the encoded updates.
3. ``secagg.unmask``: if a client that sent its key never sent its masked update, its masks with the
   survivors would not cancel; each survivor reveals the seeds it shares with the dropped clients, and
   the server regenerates and removes those masks.

What is simplified compared with Bonawitz et al.: no self-masks (double masking), so a masked update that
arrives after its sender was declared dropped could be unmasked by the server; the dropped clients'
seeds are revealed by the survivors directly instead of being reconstructed from t-out-of-n Shamir shares
of the dropped clients' keys, so a survivor that also drops during unmasking stops the round; keys are
neither signed nor authenticated (no active adversary); and the server relays public keys honestly.
What is kept: real key agreement (the server never holds a pairwise seed unless a survivor reveals it),
a cryptographic mask generator, and exact cancellation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.protocol import Message

KEYS_STAGE = "secagg.keys"
UNMASK_STAGE = "secagg.unmask"
ADVERTISE = "secagg.advertise_key"
REVEAL = "secagg.reveal_seeds"
MASKED = "masked"
SCHEME = "pairwise additive masks on a 64-bit fixed-point ring (simplified Bonawitz et al. 2017, no self-masks)"
"""How the ledger names this scheme (its ``secure_aggregation`` field)."""
SCALE_BITS = 32
"""Fixed-point fraction bits: updates are rounded to multiples of 2^-32 before masking."""

_LIMIT = 2**62


def encode(vector: torch.Tensor, scale_bits: int = SCALE_BITS) -> np.ndarray:
    """Fixed point on the ring Z_(2^64): ``round(x * 2^scale_bits)`` as two's-complement ``uint64``."""
    fixed = np.round(vector.detach().to(torch.float64).numpy() * 2.0**scale_bits)
    if np.abs(fixed).max(initial=0.0) >= _LIMIT:
        raise ValueError(
            f"values up to {np.abs(fixed).max() / 2.0**scale_bits:.3g} overflow {scale_bits}-bit fixed point"
        )
    return fixed.astype(np.int64).view(np.uint64)


def decode(ring: np.ndarray, scale_bits: int = SCALE_BITS) -> torch.Tensor:
    """The float64 vector of a ring element (exact while the true integer sum stays within int64)."""
    return torch.from_numpy(ring.view(np.int64).astype(np.float64) / 2.0**scale_bits)


def public_bytes(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def shared_seed(own: X25519PrivateKey, peer_public: bytes) -> bytes:
    """The 32-byte seed two clients agree on from their key pairs; nobody else can compute it."""
    secret = own.exchange(X25519PublicKey.from_public_bytes(peer_public))
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"fedgen secagg pairwise mask").derive(secret)


def mask(seed: bytes, length: int) -> np.ndarray:
    """``length`` uniform ring elements expanded from ``seed`` with AES-256-CTR (a cryptographic PRG)."""
    stream = Cipher(algorithms.AES(seed), modes.CTR(bytes(16))).encryptor().update(bytes(8 * length))
    return np.frombuffer(stream, dtype=np.uint64).copy()


def signed_mask(own_id: int, peer_id: int, seed: bytes, length: int) -> np.ndarray:
    """The mask as ``own_id`` applies it: added by the lower id, subtracted by the higher (mod 2^64)."""
    values = mask(seed, length)
    return values if own_id < peer_id else np.zeros_like(values) - values


def _as_bytes(array: torch.Tensor) -> bytes:
    return array.numpy().astype(np.uint8).tobytes()


def _ring_tensor(ring: np.ndarray) -> torch.Tensor:
    """A ring element for a message: its bits as int64 (torch has no general uint64 arithmetic)."""
    return torch.from_numpy(ring.view(np.int64).copy())


def _ring(tensor: torch.Tensor) -> np.ndarray:
    return tensor.numpy().view(np.uint64)


class SecAggClient:
    """One client's half of the protocol; its key pair lives for one round and never leaves the client."""

    def __init__(self, client_id: int, scale_bits: int = SCALE_BITS) -> None:
        self.client_id = client_id
        self.scale_bits = scale_bits
        self._key: X25519PrivateKey | None = None
        self._peers: dict[int, bytes] = {}

    def advertise(self) -> Message:
        """Stage ``secagg.keys``: a fresh key pair for this round; only the public half is sent."""
        self._key = X25519PrivateKey.generate()
        self._peers = {}
        key = torch.frombuffer(bytearray(public_bytes(self._key)), dtype=torch.uint8)
        return Message(ADVERTISE, {"public_key": key})

    def mask_update(self, vector: torch.Tensor, arrays: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The masked, encoded update for the server, given the peers' keys relayed in ``arrays``."""
        if self._key is None:
            raise FederationError(f"client {self.client_id} was asked to mask an update before exchanging keys")
        ids, keys = arrays["secagg.peer_ids"].tolist(), arrays["secagg.peer_keys"]
        self._peers = {int(peer): _as_bytes(keys[i]) for i, peer in enumerate(ids) if peer != self.client_id}
        masked = encode(vector, self.scale_bits)
        for peer, public in self._peers.items():
            masked = masked + signed_mask(self.client_id, peer, shared_seed(self._key, public), len(masked))
        return {MASKED: _ring_tensor(masked)}

    def reveal(self, message: Message) -> Message:
        """Stage ``secagg.unmask``: the seeds shared with the clients the server reports as dropped."""
        if self._key is None:
            raise FederationError(f"client {self.client_id} holds no keys to reveal")
        dropped = [int(cid) for cid in message.arrays["dropped"].tolist()]
        seeds = [shared_seed(self._key, self._peers[cid]) for cid in dropped]
        stacked = torch.frombuffer(bytearray(b"".join(seeds)), dtype=torch.uint8).reshape(len(dropped), 32)
        return Message(REVEAL, {"dropped": torch.tensor(dropped, dtype=torch.int64), "seeds": stacked})


class SecAggServer:
    """The server's half: relays keys, sums masked updates on the ring, removes the masks of drop-outs."""

    def __init__(self, scale_bits: int = SCALE_BITS) -> None:
        self.scale_bits = scale_bits
        self._keys: dict[int, torch.Tensor] = {}
        self._total: np.ndarray | None = None
        self._survivors: list[int] = []

    def key_requests(self, clients: Sequence[int]) -> dict[int, Message]:
        return {cid: Message(KEYS_STAGE) for cid in clients}

    def collect_keys(self, replies: Mapping[int, Message]) -> None:
        self._keys = {cid: replies[cid].arrays["public_key"] for cid in sorted(replies)}
        self._total, self._survivors = None, []

    def peer_arrays(self) -> dict[str, torch.Tensor]:
        """Every public key of the round, to travel with the message that asks for masked updates."""
        ids = sorted(self._keys)
        keys = torch.stack([self._keys[cid] for cid in ids]) if ids else torch.zeros(0, 32, dtype=torch.uint8)
        return {"secagg.peer_ids": torch.tensor(ids, dtype=torch.int64), "secagg.peer_keys": keys}

    def collect_masked(self, replies: Mapping[int, Message]) -> None:
        """Add the masked updates on the ring; each one alone is uniformly random to the server."""
        self._survivors = sorted(replies)
        for cid in self._survivors:
            if cid not in self._keys:
                raise FederationError(f"client {cid} sent a masked update without taking part in the key exchange")
            masked = _ring(replies[cid].arrays[MASKED])
            self._total = masked.copy() if self._total is None else self._total + masked

    @property
    def survivors(self) -> list[int]:
        return list(self._survivors)

    @property
    def dropped(self) -> list[int]:
        return [cid for cid in self._keys if cid not in self._survivors]

    def reveal_requests(self, clients: Sequence[int]) -> dict[int, Message]:
        """Ask the survivors for their seeds with the dropped clients (no message when nobody dropped)."""
        dropped = torch.tensor(self.dropped, dtype=torch.int64)
        return {cid: Message(UNMASK_STAGE, {"dropped": dropped}) for cid in clients if self.dropped}

    def unmask(self, replies: Mapping[int, Message]) -> torch.Tensor | None:
        """The exact sum of the survivors' encoded updates, decoded (``None`` when no update arrived)."""
        if self._total is None:
            return None
        total = self._total.copy()
        missing = [cid for cid in self._survivors if self.dropped and cid not in replies]
        if missing:
            raise FederationError(
                f"secure aggregation cannot remove the masks of dropped clients {self.dropped}: survivors {missing} "
                "did not reveal their seeds (Bonawitz et al.'s secret sharing would; this simplified version stops)"
            )
        for survivor, reply in sorted(replies.items()):
            for dropped, seed in zip(reply.arrays["dropped"].tolist(), reply.arrays["seeds"], strict=True):
                total = total - signed_mask(survivor, int(dropped), _as_bytes(seed), len(total))
        return decode(total, self.scale_bits)
