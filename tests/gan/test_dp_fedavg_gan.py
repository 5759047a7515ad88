"""DP-FedAvg-GAN: the clients' discriminator steps and the server's generator steps use the configured GAN loss.

The privacy mechanism itself is tested in ``tests/runtime/test_privacy_dp_fedavg_gan.py``.
"""

from __future__ import annotations

import pytest
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.runs.runner import RunError


def test_both_sides_train_with_the_configured_loss(make_engine, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from fedgen_registry.implementations.generation.gan import dp_fedavg_gan

    losses: list[str] = []
    for name in ("generator_loss", "discriminator_step"):
        original = getattr(dp_fedavg_gan, name)

        def spy(*args, original=original):
            losses.append(args[-1])
            return original(*args)

        monkeypatch.setattr(dp_fedavg_gan, name, spy)
    engine = make_engine(
        "dp-fedavg-gan", rounds=1, clients=2, clients_per_round=2, disc_steps=2, gen_steps=3, **{"optim.loss": "hinge"}
    )
    engine.run()
    assert losses == ["hinge"] * (2 * 2 + 3)  # 2 clients x 2 discriminator steps, then 3 generator steps


def test_a_spectrally_normalised_discriminator_is_refused(make_engine) -> None:  # noqa: F811
    with pytest.raises(RunError, match="spectral norm"):
        make_engine("dp-fedavg-gan", **{"model.spectral_norm": True})
