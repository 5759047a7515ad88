"""FedGIMP: the prior is trained federatedly (generator only), then each site adapts it locally to reconstruct."""

from __future__ import annotations

import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.local import Delivery
from fedgen_registry.implementations.generation.gan.fedgimp import (
    ReconstructionConfig,
    kspace,
    reconstruct,
    undersampling_masks,
)

FAST = {"clients": 2, "local_steps": 1, "reconstruction.steps": 3, "reconstruction.scans_per_site": 2}


def test_prior_is_averaged_and_reconstruction_stays_at_the_sites(make_engine) -> None:  # noqa: F811
    seen: list[Delivery] = []
    engine = make_engine("fedgimp", rounds=2, observer=seen.append, **FAST)
    engine.run()
    prior_names = {"g." + k for k in engine.clients[0].prior.state_dict()}
    assert any(n.startswith("g.mapper.") for n in prior_names)  # the site-latent mapper is part of the prior
    train = [d for d in seen if d.stage == "train"]
    assert all(set(d.message.arrays) == prior_names for d in train)  # no discriminator ever travels
    uploads = {d.client: d.message for d in train if d.direction == "up" and d.server_round == 2}
    reconstruct_stage = [d for d in seen if d.stage == "reconstruct"]
    assert {d.server_round for d in reconstruct_stage} == {2}  # only after the prior is trained
    for delivery in reconstruct_stage:
        if delivery.direction == "down":
            assert all(torch.equal(v, engine.server.arrays()[k]) for k, v in delivery.message.arrays.items())
        else:  # the adapted weights and the images never leave a site, only quality figures do
            assert not delivery.message.arrays and "psnr" in delivery.message.config
    sizes = {cid: float(m.config["num_examples"]) for cid, m in uploads.items()}
    for name, value in engine.server.arrays().items():
        expected = sum(uploads[c].arrays[name].double() * n for c, n in sizes.items()) / sum(sizes.values())
        assert torch.allclose(value.double(), expected, atol=1e-6), name
    for (
        client
    ) in engine.clients.values():  # the per-scan adaptation worked on copies: the site's prior is the global one
        assert all(torch.equal(v, engine.server.arrays()["g." + k]) for k, v in client.prior.state_dict().items())
    assert set(engine.history[-1]["metrics"]) >= {"recon_psnr", "recon_zero_filled_psnr", "recon_dc_loss_end"}


def test_reconstruction_fits_the_measurements_and_keeps_them(make_engine) -> None:  # noqa: F811
    engine = make_engine("fedgimp", rounds=1, **FAST)
    prior = engine.clients[0].prior
    truth = torch.as_tensor(engine.algorithm.test.x[:3])
    before = {k: v.clone() for k, v in prior.state_dict().items()}

    full = undersampling_masks(3, 1.0)
    assert bool(full.all())
    recon, _, _ = reconstruct(prior, 0, kspace(truth) * full, full, ReconstructionConfig(steps=1))
    assert torch.allclose(recon, truth, atol=1e-5)  # fully sampled: data consistency returns the scan itself

    masks = undersampling_masks(3, 3.0)
    counts = masks.flatten(1).sum(dim=1)
    assert bool(((counts >= 21) & (counts <= 22)).all()) and bool(masks[:, 0, 0].all())
    assert torch.equal(masks, torch.roll(masks.flip(1, 2), (1, 1), (1, 2)))  # each frequency with its mirror
    measured = kspace(truth) * masks
    recon, start, end = reconstruct(prior, 0, measured, masks, ReconstructionConfig(steps=30))
    assert bool((end < start).all())  # adapting latent and weights fits each scan's own measurements
    assert torch.allclose(kspace(recon) * masks, measured, atol=1e-5)
    assert all(torch.equal(before[k], v) for k, v in prior.state_dict().items())


def test_sites_train_the_prior_with_the_configured_loss(make_engine, monkeypatch) -> None:  # noqa: F811
    from fedgen_registry.implementations.generation.gan import fedgimp

    losses: list[str] = []
    for name in ("generator_loss", "discriminator_step"):
        original = getattr(fedgimp, name)

        def spy(*args, original=original):
            losses.append(args[-1])
            return original(*args)

        monkeypatch.setattr(fedgimp, name, spy)
    engine = make_engine("fedgimp", rounds=1, **{**FAST, "local_steps": 2, "optim.loss": "hinge"})
    engine.run()
    assert losses == ["hinge"] * (2 * 2 * 2)  # 2 sites x 2 local steps x (D step, G loss)
