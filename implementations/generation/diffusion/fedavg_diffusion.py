"""FedAvg-diffusion: clients train the denoising UNet on their rows; the server averages it.

The family algorithm of federated diffusion models: FedAvg (McMahan et al. 2017), weighted by client
data size, of a DDPM's noise-prediction UNet (diffusers' ``UNet2DModel``) trained on the simple epsilon
loss; the final global UNet is sampled with DDIM (or DDPM). Studies whose contribution is showing that
plain FedAvg trains diffusion models run it with the settings their sources state.
"""

from __future__ import annotations

from fedgen_registry.objectives.diffusion import DiffusionConfig, DiffusionFamily
from fedgen_registry.registry import register
from fedgen_registry.tasks.image_family import FamilyConfig, FedAvgFamilyAlgorithm


class FedAvgDiffusionConfig(FamilyConfig):
    model: DiffusionConfig = DiffusionConfig()


PRESETS = {
    "smoke": {"rounds": 4, "clients": 4, "local_steps": 6, "model.sample_steps": 20},
    # Official repository YLTun/federated_diffusion_model, diffusion_fedavg.ipynb (Fashion-MNIST run):
    # 12 clients, Dirichlet(0.1), 3 local epochs, 300 rounds, lr 2e-4, 500 timesteps, eta 1.0.
    "fl-diffusion-privacy-vision-2023": {
        "rounds": 300,
        "clients": 12,
        "data.partition": "dirichlet",
        "data.alpha": 0.1,
        "local_steps": 6,
        "optim.lr": 2e-4,
        "model.train_timesteps": 500,
        "model.eta": 1.0,
    },
    # Official repository sattarov/FedTabDiff, main.py: 5 clients each holding one label value, 100 rounds,
    # 10 client epochs, batch 512, lr 1e-4, 500 diffusion steps, linear betas 1e-4 to 0.02.
    "fedtabdiff-2024": {
        "rounds": 100,
        "clients": 5,
        "data.partition": "shards",
        "data.labels_per_client": 2,
        "local_steps": 10,
        "optim.batch_size": 512,
        "optim.lr": 1e-4,
        "model.train_timesteps": 500,
        "model.beta_start": 1e-4,
        "model.beta_end": 0.02,
        "model.beta_schedule": "linear",
    },
    "fl-diffusion-chen-2024": {},
}


@register(
    "fedavg-diffusion",
    config=FedAvgDiffusionConfig,
    family="diffusion",
    summary="FedAvg of a DDPM noise-prediction UNet (diffusers), weighted by client data size; DDIM sampling.",
    presets=PRESETS,
)
class FedAvgDiffusion(FedAvgFamilyAlgorithm[FedAvgDiffusionConfig]):
    def make_family(self, shape: tuple[int, int, int], num_classes: int) -> DiffusionFamily:
        return DiffusionFamily(self.config.model, shape, num_classes)
