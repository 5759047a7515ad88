"""pFLSynth: only the mapper and the later generator stages travel; early stages, blocks and D stay personal."""

from __future__ import annotations

import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.local import Delivery
from fedgen_registry.implementations.generation.gan.pflsynth import shared_names


def test_only_the_shared_stages_travel(make_engine) -> None:  # noqa: F811
    seen: list[Delivery] = []
    engine = make_engine("pflsynth", rounds=2, clients=3, local_steps=1, depth=3, shared_stages=2, observer=seen.append)
    engine.run()
    generator = engine.clients[0].generator
    shared = {"g." + n for n in shared_names(generator, 2)}
    assert shared == {
        "g." + n for n in generator.state_dict() if n.startswith(("mapper.", "body.stages.2.", "body.stages.3."))
    }
    assert all(set(d.message.arrays) == shared for d in seen)
    local = [n for n in generator.state_dict() if "g." + n not in shared]
    assert any(n.startswith("body.stages.0.") for n in local) and any(n.startswith("body.modulations.") for n in local)

    # the personal parts really are personal: they differ between sites after training
    states = [c.generator.state_dict() for c in engine.clients.values()]
    for name in ("body.stages.0.weight", "body.modulations.0.style.weight", "body.modulations.2.weighting.0.weight"):
        assert not torch.allclose(states[0][name], states[1][name])

    # and the shared ones are the data-weighted mean of what the sites sent in the last round
    uploads = {d.client: d.message for d in seen if d.direction == "up" and d.server_round == 2}
    sizes = {cid: float(m.config["num_examples"]) for cid, m in uploads.items()}
    for name, value in engine.server.arrays().items():
        expected = sum(uploads[c].arrays[name].double() * n for c, n in sizes.items()) / sum(sizes.values())
        assert torch.allclose(value.double(), expected, atol=1e-6), name
