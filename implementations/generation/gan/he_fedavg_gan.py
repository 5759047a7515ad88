"""FedAvg-GAN under homomorphic encryption (Pejic, Wang and Liang, 2022): the study's FHE configuration.

The paper measures what homomorphic encryption costs an FL-GAN: the same FedAvg of generator and
discriminator, with the shared weights encrypted so that the server aggregates without seeing them. What this
file holds is that configuration, with CKKS (TenSEAL) as the fully homomorphic scheme
(:mod:`~fedgen_registry.mechanisms.crypto.ckks`):

- a key setup gives the clients one CKKS secret context and the server its public half;
- each round the server sends the encrypted global G and D; each client decrypts, runs FedAvg-GAN's
  ``local_steps`` and returns both networks encrypted, with its example count in the clear;
- the server's whole aggregation is ``sum_i n_i * Enc(theta_i)`` on ciphertexts, sent with ``n = sum_i n_i``
  for the clients to divide by after decrypting; it never holds a key that decrypts, and never a plaintext
  parameter. The networks travel on a fixed-point grid of 2^-20, so the CKKS noise cannot reach them and
  two runs with one seed give the same networks.

The cost the study reports is visible in each round's ``seconds`` and ``bytes_up`` in ``history.jsonl``
(compare with ``fedavg-gan`` at the same settings).
"""

from __future__ import annotations

from pydantic import Field

from fedgen_registry.catalog.claims import Check, Claim, ClaimRun, image_parity_checks
from fedgen_registry.mechanisms.crypto.ckks import CKKSConfig, EncryptedGANAlgorithm, EncryptingClient
from fedgen_registry.registry import register
from fedgen_registry.strategies.gan import FEDAVG_GAN_QUALITY, STABLE_GAN_RECIPE
from fedgen_registry.tasks.image_gan import ImageGANConfig


class HEFedAvgGANConfig(ImageGANConfig):
    local_steps: int = Field(5, ge=1, description="Alternating D/G updates per client per round.")
    ckks: CKKSConfig = CKKSConfig()


QUALITY = {
    **{key: value for key, value in STABLE_GAN_RECIPE.items() if key != "ema"},  # the server holds no plaintext G
    **{key: FEDAVG_GAN_QUALITY[key] for key in ("rounds", "clients", "clients_per_round", "local_steps")},
}
"""FedAvg-GAN's quality budget (40 rounds x 2 of 10 clients x 50 steps x 64 = 256,000 real-row visits) with the stable
recipe; the recipe's generator EMA is kept by FedAvg-GAN's server in the clear, which an encrypting server cannot do."""


@register(
    "he-fedavg-gan",
    config=HEFedAvgGANConfig,
    family="gan",
    summary="FedAvg-GAN whose G and D are averaged under CKKS encryption (TenSEAL); the server holds ciphertexts only.",
    presets={
        "smoke": {"rounds": 10, "clients": 4, "local_steps": 15},
        "quality": QUALITY,
        "he-fl-gan-2022": {"rounds": 20, "clients": 5, "local_steps": 10},
    },
    claim=Claim(
        statement="Averaging FedAvg-GAN's generator and discriminator under CKKS encryption keeps its sample quality "
        "(within 0.02 KID and 0.8x recall of FedAvg-GAN) but costs more upload per client-round and more time.",
        runs={
            "he-fedavg-gan": ClaimRun(implementation="he-fedavg-gan"),
            "fedavg-gan": ClaimRun(implementation="fedavg-gan"),
        },
        checks=[
            *image_parity_checks("he-fedavg-gan", "fedavg-gan"),
            Check(metric="bytes_up_per_client_round", run="he-fedavg-gan", op=">", against="fedavg-gan"),
            Check(metric="wall_s", run="he-fedavg-gan", op=">", against="fedavg-gan"),
        ],
        note="The study times partially, somewhat and fully homomorphic schemes and MPC against the plain FL-GAN; only "
        "FHE (CKKS) is implemented, so 'more expressive schemes cost markedly more time' is checked as 'FHE costs "
        "more than none'. wall_s is the whole run on the machine that runs it. FedAvg-GAN's server keeps a moving "
        "average of the generator, which a server holding ciphertexts cannot.",
    ),
)
class HEFedAvgGAN(EncryptedGANAlgorithm[HEFedAvgGANConfig]):
    def make_client(self, client_id: int) -> EncryptingClient:
        config = self.config
        return EncryptingClient(
            self.client_data(client_id),
            self.new_generator(),
            self.new_discriminator(),
            self.keys,
            config.optim,
            config.local_steps,
            config.model.latent_dim,
            self.conditional,
        )
