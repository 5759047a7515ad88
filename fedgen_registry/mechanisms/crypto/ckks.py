"""FedAvg of a GAN under CKKS homomorphic encryption (TenSEAL): the server averages ciphertexts it cannot read.

Shared by the homomorphic-encryption federated-GAN papers (the HE study of Pejic et al. 2022, PP-FedGAN of
Ghavamipour et al. 2023). The roles are those of PP-FedGAN's code: a key setup makes one CKKS key pair for the
clients (the secret key never leaves them) and hands the server a *public* context, which can add ciphertexts
and multiply them by plaintext scalars but not decrypt.

- :class:`CKKSKeys` holds both contexts; :func:`encrypt` packs a flat vector into slot-sized CKKS ciphertexts
  and serialises them as ``uint8`` tensors (``ct.<i>``), so they travel in an ordinary message;
- :func:`weighted_sum` is the whole of the server's arithmetic: ``sum_i w_i * ct_i`` on ciphertexts;
- :class:`EncryptedAveragingServer` keeps the global G and D only as ciphertexts, sends them, and replaces
  them by the data-size-weighted encrypted mean of the clients' encrypted networks;
- :class:`EncryptedGANAlgorithm` runs the key setup, encrypts the common initial model for the server, and
  evaluates the final generator as a key holder would (an evaluation-side read, not a message);
- :class:`EncryptingClient` decrypts the global networks, trains them locally (FedAvg-GAN's local steps, or a
  subclass's private variant), encrypts the result and reports its example count, the only plaintext upstream.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import tenseal as ts
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from fedgen_registry.federation.arrays import load_module_arrays
from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.protocol import Client, Message, Server, State
from fedgen_registry.mechanisms.privacy.updates import flatten, unflatten
from fedgen_registry.objectives.gan import LocalData, OptimConfig, train_steps
from fedgen_registry.strategies.gan import pair_arrays, size_weighted
from fedgen_registry.tasks.image_gan import ConfigT, ImageGANAlgorithm

TRAIN = "train.ckks_fedavg"
PREFIX = "ct."


class CKKSConfig(BaseModel):
    """CKKS parameters (TenSEAL's tutorial set: 128-bit security at degree 8192, one multiplicative level)."""

    model_config = ConfigDict(extra="forbid")

    poly_modulus_degree: int = Field(8192, description="Ring degree N; a ciphertext holds N/2 values.")
    coeff_mod_bit_sizes: list[int] = Field([60, 40, 40, 60], description="Bit sizes of the modulus chain.")
    scale_bits: int = Field(40, ge=10, le=60, description="log2 of the encoding scale (the precision).")


@dataclass(frozen=True)
class CKKSKeys:
    """The clients' secret context and the server's public one (same keys, secret key stripped)."""

    secret: ts.Context
    public: ts.Context
    slots: int
    """Values per ciphertext (half the ring degree)."""

    @classmethod
    def generate(cls, config: CKKSConfig) -> CKKSKeys:
        secret = ts.context(
            ts.SCHEME_TYPE.CKKS, config.poly_modulus_degree, coeff_mod_bit_sizes=list(config.coeff_mod_bit_sizes)
        )
        secret.global_scale = 2.0**config.scale_bits
        public = secret.copy()
        public.make_context_public()
        return cls(secret, public, config.poly_modulus_degree // 2)

    def fingerprint(self) -> str:
        """A digest of the public key material: ciphertexts are readable only under the same keys."""
        return hashlib.sha256(self.public.serialize(save_relin_keys=False, save_galois_keys=False)).hexdigest()


def _bytes_tensor(data: bytes) -> torch.Tensor:
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def encrypt(vector: torch.Tensor, keys: CKKSKeys) -> dict[str, torch.Tensor]:
    """``vector`` as serialised CKKS ciphertexts of at most ``slots`` values each (encryption needs no secret)."""
    values = vector.detach().to(torch.float64).tolist()
    chunks = [values[start : start + keys.slots] for start in range(0, len(values), keys.slots)]
    return {
        f"{PREFIX}{index:04d}": _bytes_tensor(ts.ckks_vector(keys.public, chunk).serialize())
        for index, chunk in enumerate(chunks)
    }


def ciphertexts(arrays: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The ciphertext entries of a message, in order."""
    return {name: arrays[name] for name in sorted(arrays) if name.startswith(PREFIX)}


def decrypt(arrays: Mapping[str, torch.Tensor], secret: ts.Context) -> torch.Tensor:
    """The float64 vector behind serialised ciphertexts; needs the secret context."""
    if not secret.is_private():
        raise FederationError("decryption needs the secret key, which this context does not hold")
    values: list[float] = []
    for blob in ciphertexts(arrays).values():
        values.extend(ts.ckks_vector_from(secret, blob.numpy().tobytes()).decrypt())
    return torch.tensor(values, dtype=torch.float64)


def weighted_sum(
    encrypted: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float], public: ts.Context
) -> dict[str, torch.Tensor]:
    """``sum_i weights[i] * encrypted[i]`` computed on ciphertexts (plaintext weights, one rescale)."""
    if len(encrypted) != len(weights) or not encrypted:
        raise ValueError("weighted_sum needs one weight per encrypted vector")
    result = {}
    for name in ciphertexts(encrypted[0]):
        total = None
        for item, weight in zip(encrypted, weights, strict=True):
            term = ts.ckks_vector_from(public, item[name].numpy().tobytes()) * float(weight)
            total = term if total is None else total + term
        result[name] = _bytes_tensor(total.serialize())
    return result


class EncryptedAveragingServer(Server):
    """Holds the global G and D only as ciphertexts under the clients' key; averages replies homomorphically.

    ``template`` names the plaintext layout (``g.``/``d.`` arrays, their shapes), never values: it is
    metadata that every party knows. ``last_weights`` keeps the normalised data-size weights of the round.
    """

    def __init__(self, initial: Mapping[str, torch.Tensor], keys: CKKSKeys, clients_per_round: int | None) -> None:
        if keys.public.is_private():
            raise FederationError("the server must be given the public context only")
        self.public, self.fingerprint = keys.public, keys.fingerprint()
        self.global_model = dict(initial)
        self.clients_per_round = clients_per_round
        self.last_weights: dict[int, float] = {}

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        return {cid: Message(TRAIN, dict(self.global_model), {"round": server_round}) for cid in clients}

    def weights(self, order: Sequence[int], replies: Mapping[int, Message]) -> list[float]:
        """FedAvg's rule, from the plaintext example counts the clients report."""
        sizes = [float(replies[cid].config["num_examples"]) for cid in order]
        return [size / sum(sizes) for size in sizes]

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        order = sorted(replies)
        weights = self.weights(order, replies)
        self.global_model = weighted_sum([ciphertexts(replies[cid].arrays) for cid in order], weights, self.public)
        self.last_weights = dict(zip(order, weights, strict=True))
        return size_weighted(replies, order, ("d_loss", "g_loss"))

    def state_dict(self) -> State:
        return {"global_model": dict(self.global_model), "fingerprint": self.fingerprint}

    def load_state_dict(self, state: State) -> None:
        if state["fingerprint"] != self.fingerprint:
            raise FederationError(
                "the checkpointed ciphertexts were made under other CKKS keys (keys live for one run and are never "
                "written to disk), so this run cannot resume them"
            )
        self.global_model = dict(state["global_model"])


class EncryptingClient(Client):
    """Decrypts the global G and D, trains them on its rows, and returns them encrypted.

    :meth:`train` is FedAvg-GAN's local training; a paper that trains differently overrides it.
    """

    def __init__(
        self,
        data: LocalData,
        generator: nn.Module,
        discriminator: nn.Module,
        keys: CKKSKeys,
        optim: OptimConfig,
        local_steps: int,
        latent_dim: int,
        conditional: bool,
    ) -> None:
        self.data, self.generator, self.discriminator, self.keys = data, generator, discriminator, keys
        self.optim, self.local_steps, self.latent_dim, self.conditional = optim, local_steps, latent_dim, conditional
        self.template = pair_arrays(generator, discriminator)

    def handle(self, message: Message) -> Message:
        if message.message_type != TRAIN:
            raise ValueError(f"an encrypting client does not handle {message.message_type!r}")
        plain = unflatten(decrypt(message.arrays, self.keys.secret), self.template)
        load_module_arrays(self.generator, plain, "g.")
        load_module_arrays(self.discriminator, plain, "d.")
        losses = self.train()
        encrypted = encrypt(flatten(pair_arrays(self.generator, self.discriminator)), self.keys)
        return Message(TRAIN, encrypted, {"num_examples": len(self.data.y), **losses})

    def train(self) -> dict[str, float]:
        return train_steps(
            self.generator,
            self.discriminator,
            self.optim,
            self.data,
            self.local_steps,
            self.latent_dim,
            self.conditional,
        )


class EncryptedGANAlgorithm(ImageGANAlgorithm[ConfigT]):
    """Key setup, the encrypted initial model and evaluation by a key holder; the config needs a ``ckks`` field."""

    def __init__(self, config: ConfigT, run_dir: Path) -> None:
        super().__init__(config, run_dir)
        self.keys = CKKSKeys.generate(config.ckks)  # type: ignore[attr-defined]

    def initial_model(self) -> dict[str, torch.Tensor]:
        """The clients' common initial G and D, encrypted by the key setup: the server never sees them in the clear."""
        return encrypt(flatten(pair_arrays(self.new_generator(), self.new_discriminator())), self.keys)

    def make_server(self) -> EncryptedAveragingServer:
        return EncryptedAveragingServer(self.initial_model(), self.keys, self.config.clients_per_round)

    def finish(self, server: Server) -> dict[str, Any]:
        if not isinstance(server, EncryptedAveragingServer):
            raise TypeError(f"{type(server).__name__} is not an encrypted-averaging server")
        generator, discriminator = self.new_generator(), self.new_discriminator()
        plain = unflatten(decrypt(server.global_model, self.keys.secret), pair_arrays(generator, discriminator))
        load_module_arrays(generator, plain, "g.")
        return super().finish(SimpleNamespace(generator=generator))  # type: ignore[arg-type]
