"""FedAvg-VAE: clients train the whole VAE (encoder and decoder) on their rows; the server averages it.

The family algorithm of federated VAEs: FedAvg (McMahan et al. 2017) of a VAE trained on the negative
ELBO, weighted by client data size. Papers whose contribution is an application of it (anomaly
detection on sensor series, collaborative filtering, predictive maintenance) run it with their settings
where a source states them; the generated samples are judged like every image family.
"""

from __future__ import annotations

from fedgen_registry.objectives.vae import VAEConfig, VAEFamily
from fedgen_registry.registry import register
from fedgen_registry.tasks.image_family import FamilyConfig, FedAvgFamilyAlgorithm


class FedAvgVAEConfig(FamilyConfig):
    model: VAEConfig = VAEConfig()


CROSS_DEVICE = {"clients": 50, "clients_per_round": 10}
"""A stand-in for the cross-device papers (many small clients, a sample per round); not their numbers."""

PRESETS = {
    "smoke": {"rounds": 15, "clients": 10, "local_steps": 10},
    "fedvae-anomaly-ts-2021": CROSS_DEVICE,
    "fedvae-polato-2021": CROSS_DEVICE,
    "fedgen-predictive-maintenance-2024": {},
}


@register(
    "fedavg-vae",
    config=FedAvgVAEConfig,
    family="vae",
    summary="FedAvg of a VAE (encoder and decoder) trained on the negative ELBO, weighted by client data size.",
    presets=PRESETS,
)
class FedAvgVAE(FedAvgFamilyAlgorithm[FedAvgVAEConfig]):
    def make_family(self, shape: tuple[int, int, int], num_classes: int) -> VAEFamily:
        return VAEFamily(self.config.model, shape, num_classes)
