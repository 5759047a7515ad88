"""CAP-GAN (Zhang et al., 2023): collaborative cloud-edge-device training of mixed generators (Mix-G).

What makes the paper that paper, and all this file holds:

- **Mix-G**: each device's generator is split into *sharing* layers (the first ``shared_layers``
  linear stages, generic features) and *personalising* layers (the rest, the device's own output
  stage); only the sharing layers ever leave the device, and the discriminator stays on it too, so
  every device ends with its own generator;
- **collaborative parallel learning over three tiers**: devices train in parallel; each edge server
  averages the sharing layers of its devices every round, and the cloud averages the edges every
  ``cloud_every`` rounds, so generators learn from devices of other edges instead of in isolation.

The federation is judged on the union of the devices' personalised generators.
"""

from __future__ import annotations

from types import MappingProxyType

from pydantic import Field, model_validator

from fedgen_registry.catalog.claims import Check, Claim, ClaimRun
from fedgen_registry.registry import register
from fedgen_registry.strategies.gan import (
    STABLE_GAN_RECIPE,
    DeviceMixtureAlgorithm,
    TieredDevice,
    TieredServer,
    edge_groups,
)
from fedgen_registry.tasks.image_gan import ImageGANConfig

GENERATOR_STAGES = ("net.0.", "net.2.", "net.4.")
"""The linear stages of the MLP generator, input to output."""


class CAPGANConfig(ImageGANConfig):
    local_steps: int = Field(5, ge=1, description="Alternating D/G updates per device per round.")
    edges: int = Field(2, ge=1, description="Edge servers; devices are split among them in contiguous blocks.")
    cloud_every: int = Field(2, ge=1, description="Rounds between two cloud aggregations of the edges.")
    shared_layers: int = Field(
        2, ge=1, le=len(GENERATOR_STAGES) - 1, description="Mix-G sharing stages (from the input)."
    )

    @model_validator(mode="after")
    def _edges_fit(self) -> CAPGANConfig:
        if self.edges > self.clients:
            raise ValueError(f"{self.clients} devices cannot fill {self.edges} edge servers")
        return self


def sharing_entries(generator_keys: list[str], shared_layers: int) -> list[str]:
    """The generator entries of the Mix-G sharing stages (the personalising stages are the rest)."""
    prefixes = GENERATOR_STAGES[:shared_layers]
    return [key for key in generator_keys if key.startswith(prefixes)]


QUALITY = {
    **{key: value for key, value in STABLE_GAN_RECIPE.items() if key != "ema"},  # no server generator to average
    "rounds": 200,
    "clients": 10,
    "local_steps": 10,
    "edges": 2,
    "cloud_every": 2,
}
"""The stable recipe at FedAvg-GAN's generator progress: every device trains every round, as in the paper's parallel
scheme, and each device's generator makes 200 x 10 = 2000 updates, as many as FedAvg-GAN's global generator, so the
batches drawn are 10 x 2000 x 64 = 1,280,000, five times FedAvg-GAN's. At FedAvg-GAN's 256,000 (40 rounds x 10
steps) the devices' generators are still blurred (KID 0.21, recall 0.02 at seed 0); with 50 steps between two
edge averages the shared stages drift from the personal ones and the samples break up (KID 0.46, recall 0.16).
The recipe's generator EMA is the FedAvg-GAN server's; here the generators live on the devices."""


ONE_CLASS_EACH = {"data.partition": "shards", "data.labels_per_client": 1}


@register(
    "cap-gan",
    config=CAPGANConfig,
    family="gan",
    summary="CAP-GAN: Mix-G generators whose sharing layers are averaged over edges and cloud; the rest stays on device.",
    presets={
        "smoke": {"rounds": 20, "clients": 10, "edges": 2, "cloud_every": 2, "data.partition": "shards"},
        "quality": QUALITY,
        "cap-gan-2023": {
            "rounds": 100,
            "clients": 20,
            "edges": 4,
            "cloud_every": 5,
            "data.partition": "shards",
            "data.labels_per_client": 1,
        },
    },
    claim=Claim(
        statement="On devices holding one class each, the union of the devices' Mix-G generators (sharing stages "
        "averaged over edges and cloud, output stage personal) beats FedAvg-GAN's one averaged generator: lower KID "
        "and higher recall.",
        runs={
            "cap-gan": ClaimRun(implementation="cap-gan", overrides=ONE_CLASS_EACH),
            "fedavg-gan": ClaimRun(implementation="fedavg-gan", overrides=ONE_CLASS_EACH),
        },
        checks=[
            Check(metric="kid", run="cap-gan", op="<", against="fedavg-gan"),
            Check(metric="recall", run="cap-gan", op=">", against="fedavg-gan"),
        ],
        note="CAP-GAN's claim (Zhang et al. 2023) that collaborative, partly personalised generators handle extremely "
        "non-IID devices, on 8x8 digits one class per device; each device's generator gets FedAvg-GAN's 2000 "
        "updates, so CAP-GAN draws five times FedAvg-GAN's real-row visits.",
    ),
)
class CAPGAN(DeviceMixtureAlgorithm[CAPGANConfig]):
    uploads = MappingProxyType({"g.": "partial-parameters"})
    weighted_mean_upload = False
    flower_refusal = (
        "its evaluation reads the clients' own generators, which live on the Flower nodes, not on the server"
    )

    def _sharing(self) -> list[str]:
        return sharing_entries(list(self.new_generator().state_dict()), self.config.shared_layers)

    def make_server(self) -> TieredServer:
        shared = set(self._sharing())
        initial = {"g." + k: v for k, v in self.new_generator().state_dict().items() if k in shared}
        return TieredServer(initial, edge_groups(self.config.clients, self.config.edges), self.config.cloud_every)

    def make_client(self, client_id: int) -> TieredDevice:
        config = self.config
        device = TieredDevice(
            self.client_data(client_id),
            self.new_generator(),
            self.new_discriminator(),
            self._sharing(),
            config.optim,
            config.local_steps,
            config.model.latent_dim,
            self.conditional,
        )
        return self.remember(client_id, device)
