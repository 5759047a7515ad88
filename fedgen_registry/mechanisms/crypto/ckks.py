"""FedAvg of a GAN under CKKS homomorphic encryption (TenSEAL): the server averages ciphertexts it cannot read.

Shared by the homomorphic-encryption federated-GAN papers (the HE study of Pejic et al. 2022, PP-FedGAN of
Ghavamipour et al. 2023). The roles are those of PP-FedGAN's code: a key setup makes one CKKS key pair for the
clients (the secret key never leaves them) and hands the server a *public* context, which can add ciphertexts
and multiply them by plaintext scalars but not decrypt.

- :class:`CKKSKeys` holds both contexts; :func:`encrypt` packs a flat vector into slot-sized CKKS ciphertexts
  and serialises them as ``uint8`` tensors (``ct.<i>``), so they travel in an ordinary message;
- :func:`weighted_sum` is the whole of the server's arithmetic: ``sum_i n_i * ct_i`` on ciphertexts, with
  the clients' example counts ``n_i`` as whole-number weights;
- :class:`EncryptedAveragingServer` keeps the global G and D only as ciphertexts, sends them with the
  divisor ``n = sum_i n_i``, and replaces them by that encrypted sum of the clients' encrypted networks;
- :class:`EncryptedGANAlgorithm` runs the key setup, encrypts the common initial model for the server, and
  evaluates the final generator as a key holder would (an evaluation-side read, not a message);
- :class:`EncryptingClient` decrypts the global networks, trains them locally (FedAvg-GAN's local steps, or a
  subclass's private variant), encrypts the result and reports its example count, the only plaintext upstream.

**Why runs are reproducible although encryption is randomised.** CKKS is approximate: every encryption adds
fresh noise (TenSEAL draws it from the OS, with no seed), so a decrypted average differs from run to run in
its last bits, and a GAN trained on it diverges from there (two identical PP-FedGAN runs gave KID 2.59 and
2.49). The noise is kept from reaching any result: :func:`encrypt` rounds each value to the fixed-point grid
``2^-GRID_BITS`` and encrypts the integer ``m = x * 2^GRID_BITS``; the server multiplies by whole counts
and adds, without rescaling (with TenSEAL's automatic rescale a product carried a relative error of about
1e-7, measured, which no grid survives; unrescaled, the aggregates going down stay at the full modulus and
are larger on the wire), so the encrypted value is the integer
``sum_i n_i m_i`` plus the noise; and :func:`decrypt` rounds back to that integer, asserting that the
noise was below :data:`MARGIN` (measured: below 1e-3 up to 2^40, 0.02 at 2^45) and the integer within the
exactly decoded range ``2^EXACT_BITS``, before dividing by ``n``. The noise therefore cannot change a
single bit of what a client loads; encryption and the server's blindness stay as they were.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any

import tenseal as ts
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from fedgen_registry.data.local import LocalData
from fedgen_registry.federation.arrays import load_module_arrays, size_weighted
from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.protocol import Message, Server, State
from fedgen_registry.mechanisms.privacy.updates import flatten, unflatten
from fedgen_registry.objectives.gan import OptimConfig
from fedgen_registry.strategies.gan import LocalGANClient, pair_arrays
from fedgen_registry.tasks.image_gan import ConfigT, ImageGANAlgorithm

TRAIN = "train.ckks_fedavg"
PREFIX = "ct."
GRID_BITS = 20
"""Values are encrypted as whole multiples of 2^-20 (about 9.5e-7): far above CKKS's noise, far below a GAN step."""
EXACT_BITS = 44
"""Decrypted integers up to 2^44 in magnitude come back within :data:`MARGIN` of their value (one run's data
of up to 2^16 examples times weights up to 2^8 in magnitude)."""
MARGIN = 1 / 16
"""The largest distance from a whole number that :func:`decrypt` accepts as CKKS noise."""


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
        secret.auto_rescale = False  # exact products by whole counts: see the module's note on reproducibility
        public = secret.copy()
        public.make_context_public()
        return cls(secret, public, config.poly_modulus_degree // 2)

    def fingerprint(self) -> str:
        """A digest of the public key material: ciphertexts are readable only under the same keys."""
        return hashlib.sha256(self.public.serialize(save_relin_keys=False, save_galois_keys=False)).hexdigest()


def _bytes_tensor(data: bytes) -> torch.Tensor:
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def encrypt(vector: torch.Tensor, keys: CKKSKeys) -> dict[str, torch.Tensor]:
    """``vector`` on the ``2^-GRID_BITS`` grid as serialised CKKS ciphertexts of the whole numbers
    ``x * 2^GRID_BITS``, at most ``slots`` values each (encryption needs no secret)."""
    values = torch.round(torch.ldexp(vector.detach().to(torch.float64), torch.tensor(GRID_BITS))).tolist()
    chunks = [values[start : start + keys.slots] for start in range(0, len(values), keys.slots)]
    return {
        f"{PREFIX}{index:04d}": _bytes_tensor(ts.ckks_vector(keys.public, chunk).serialize())
        for index, chunk in enumerate(chunks)
    }


def ciphertexts(arrays: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The ciphertext entries of a message, in order."""
    return {name: arrays[name] for name in sorted(arrays) if name.startswith(PREFIX)}


def decrypt(arrays: Mapping[str, torch.Tensor], secret: ts.Context, divisor: int = 1) -> torch.Tensor:
    """The float64 vector behind serialised ciphertexts, divided by ``divisor``; needs the secret context.

    The encrypted values are whole numbers (:func:`encrypt`, :func:`weighted_sum`): each is rounded back to
    one, which removes the CKKS noise exactly, and refused if the noise or the magnitude is outside the
    range where that rounding is provably right.
    """
    if not secret.is_private():
        raise FederationError("decryption needs the secret key, which this context does not hold")
    values: list[float] = []
    for blob in ciphertexts(arrays).values():
        values.extend(ts.ckks_vector_from(secret, blob.numpy().tobytes()).decrypt())
    noisy = torch.tensor(values, dtype=torch.float64)
    whole = torch.round(noisy)
    noise, largest = float((noisy - whole).abs().max()), float(whole.abs().max())
    if noise > MARGIN or largest >= 2.0**EXACT_BITS:
        raise FederationError(
            f"CKKS decryption is off a whole number by up to {noise:.3g} (at most {MARGIN} allowed) on values up to "
            f"2^{math.log2(max(largest, 1.0)):.1f} (below 2^{EXACT_BITS} allowed): the rounding would not be exact"
        )
    return torch.ldexp(whole / divisor, torch.tensor(-GRID_BITS))


def weighted_sum(
    encrypted: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[int], public: ts.Context
) -> dict[str, torch.Tensor]:
    """``sum_i weights[i] * encrypted[i]`` computed on ciphertexts, with whole-number plaintext weights.

    No rescale: the product keeps the square of the scale and the values stay whole numbers, which is what
    lets :func:`decrypt` remove the noise exactly (divide by ``sum(weights)`` there for the mean).
    """
    if len(encrypted) != len(weights) or not encrypted:
        raise ValueError("weighted_sum needs one weight per encrypted vector")
    if any(weight != int(weight) for weight in weights):
        raise ValueError(f"weighted_sum takes whole-number weights (example counts), not {list(weights)}")
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

    The global model is ``sum_i n_i Enc(theta_i)`` with its divisor ``n = sum_i n_i`` (1 for the initial
    model), sent together; the clients divide after decrypting. ``last_weights`` keeps the normalised
    data-size weights of the round.
    """

    def __init__(self, initial: Mapping[str, torch.Tensor], keys: CKKSKeys, clients_per_round: int | None) -> None:
        if keys.public.is_private():
            raise FederationError("the server must be given the public context only")
        self.public, self.fingerprint = keys.public, keys.fingerprint()
        self.global_model, self.divisor = dict(initial), 1
        self.clients_per_round = clients_per_round
        self.last_weights: dict[int, float] = {}

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        config = {"round": server_round, "divisor": self.divisor}
        return {cid: Message(TRAIN, dict(self.global_model), config) for cid in clients}

    def weights(self, order: Sequence[int], replies: Mapping[int, Message]) -> list[int]:
        """FedAvg's rule, from the plaintext example counts the clients report (whole numbers, not normalised)."""
        return [int(replies[cid].config["num_examples"]) for cid in order]

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        order = sorted(replies)
        weights = self.weights(order, replies)
        self.global_model = weighted_sum([ciphertexts(replies[cid].arrays) for cid in order], weights, self.public)
        self.divisor = sum(weights)
        self.last_weights = {cid: weight / self.divisor for cid, weight in zip(order, weights, strict=True)}
        return size_weighted(replies, order, ("d_loss", "g_loss"))

    def state_dict(self) -> State:
        return {"global_model": dict(self.global_model), "divisor": self.divisor, "fingerprint": self.fingerprint}

    def load_state_dict(self, state: State) -> None:
        if state["fingerprint"] != self.fingerprint:
            raise FederationError(
                "the checkpointed ciphertexts were made under other CKKS keys (keys live for one run and are never "
                "written to disk), so this run cannot resume them"
            )
        self.global_model, self.divisor = dict(state["global_model"]), int(state["divisor"])


class EncryptingClient(LocalGANClient):
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
        super().__init__(data, generator, discriminator, optim, local_steps, latent_dim, conditional)
        self.keys = keys
        self.template = pair_arrays(generator, discriminator)

    def handle(self, message: Message) -> Message:
        if message.message_type != TRAIN:
            raise ValueError(f"an encrypting client does not handle {message.message_type!r}")
        plain = unflatten(decrypt(message.arrays, self.keys.secret, int(message.config["divisor"])), self.template)
        load_module_arrays(self.generator, plain, "g.")
        load_module_arrays(self.discriminator, plain, "d.")
        losses = self.train()
        encrypted = encrypt(flatten(pair_arrays(self.generator, self.discriminator)), self.keys)
        return Message(TRAIN, encrypted, {"num_examples": len(self.data.y), **losses})


class EncryptedGANAlgorithm(ImageGANAlgorithm[ConfigT]):
    """Key setup, the encrypted initial model and evaluation by a key holder; the config needs a ``ckks`` field."""

    uploads = MappingProxyType({"ct.": "model-parameters"})
    weighted_mean_upload = False

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
        global_model = decrypt(server.global_model, self.keys.secret, server.divisor)
        plain = unflatten(global_model, pair_arrays(generator, discriminator))
        load_module_arrays(generator, plain, "g.")
        return super().finish(SimpleNamespace(generator=generator))  # type: ignore[arg-type]
