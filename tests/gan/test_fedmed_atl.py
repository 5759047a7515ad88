"""FedMed-ATL: misaligned b images, and affine self-supervised heads that train locally and shape the generators."""

from __future__ import annotations

import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.local import Delivery
from fedgen_registry.tasks.translation import contrast


def _aligned_b(engine, cid: int) -> torch.Tensor:
    algorithm = engine.algorithm
    rows = torch.as_tensor(algorithm.train.x[algorithm.parts[cid]])
    return contrast(rows[len(rows) // 2 :], "t2")


def test_second_modality_is_misaligned_per_image(make_engine, tmp_path) -> None:  # noqa: F811
    engine = make_engine("fedmed-atl", rounds=1, clients=2)
    assert not torch.allclose(engine.clients[0].b, _aligned_b(engine, 0), atol=0.1)
    still = make_engine(
        "fedmed-atl",
        rounds=1,
        clients=2,
        severe_rotation=0.0,
        severe_translation=0.0,
        severe_scaling=0.0,
        run_dir=tmp_path / "aligned",
    )
    assert torch.allclose(still.clients[0].b, _aligned_b(still, 0), atol=1e-5)


def test_heads_train_locally_and_the_affine_loss_moves_the_generators(make_engine, tmp_path) -> None:  # noqa: F811
    names: set[str] = set()

    def spy(delivery: Delivery) -> None:
        names.update(delivery.message.arrays)

    def generators(weight_g: float, observer=None) -> dict[str, torch.Tensor]:
        engine = make_engine(
            "fedmed-atl",
            rounds=1,
            clients=2,
            local_steps=2,
            weight_g=weight_g,
            observer=observer,
            run_dir=tmp_path / str(weight_g),
        )
        heads = {k: v.clone() for k, v in engine.clients[0].d_b.heads.state_dict().items()}
        engine.run()
        moved = any(not torch.equal(heads[k], v) for k, v in engine.clients[0].d_b.heads.state_dict().items())
        assert moved  # the discriminator's affine heads learned at the site
        return engine.server.arrays()

    with_atl = generators(0.5, spy)
    without_atl = generators(0.0)
    assert names == set(with_atl) and all(n.startswith(("g_ab.", "g_ba.")) for n in names)
    assert any(not torch.equal(with_atl[k], without_atl[k]) for k in with_atl)
