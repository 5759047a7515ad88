"""Many small clients: FedAvg-GAN local updates of 100 clients per round on digits, looped vs vmapped.

Both sides run the same round from the same global networks and the same random draws
(:func:`~fedgen_registry.objectives.vectorised.draw_plan`): the ordinary per-client loop with
``torch.optim.Adam`` (what the engine's clients do, one after another) and one ``torch.vmap`` update per
local step over parameters stacked for all clients, with Adam's update on the stacked tensors. Each round
checks that both FedAvg averages agree, then continues from the looped one. Rounds alternate which side
runs first; the first round of each side is a warm-up and is left out of the totals.

    .venv/bin/python bench/bench_many_clients.py --clients 100 --rounds 6 --local-steps 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from fedgen_registry.federation.arrays import load_module_arrays
from fedgen_registry.objectives.vectorised import draw_plan, looped_update, vectorised_update, weighted_average
from fedgen_registry.registry import get_implementation
from fedgen_registry.runs.runner import build_config

TOLERANCE = 1e-4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--local-steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    spec = get_implementation("fedavg-gan")
    config = build_config(spec, "smoke", {"clients": args.clients, "local_steps": args.local_steps})
    with tempfile.TemporaryDirectory() as folder:
        algorithm = spec.target(config, Path(folder))
    generator, discriminator = algorithm.new_generator(), algorithm.new_discriminator()
    datas = [algorithm.client_data(cid) for cid in range(args.clients)]
    sizes = [len(data.y) for data in datas]
    print(
        f"digits, {args.clients} clients ({min(sizes)}-{max(sizes)} rows each), {args.local_steps} local steps, "
        f"batch {config.optim.batch_size}, {args.threads} threads, torch {torch.__version__}"
    )
    seconds: dict[str, list[float]] = {"looped": [], "vmapped": []}
    for round_ in range(args.rounds):
        plan = draw_plan(datas, args.local_steps, config.optim.batch_size, config.model.latent_dim, seed=round_)
        averages = {}
        order = ("looped", "vmapped") if round_ % 2 == 0 else ("vmapped", "looped")
        for name in order:
            update = looped_update if name == "looped" else vectorised_update
            started = time.perf_counter()
            averages[name] = weighted_average(update(generator, discriminator, plan, config.optim), plan.num_examples)
            seconds[name].append(time.perf_counter() - started)
        gap = max((averages["looped"][k] - averages["vmapped"][k]).abs().max().item() for k in averages["looped"])
        print(
            f"round {round_}: looped {seconds['looped'][-1]:.3f} s, vmapped {seconds['vmapped'][-1]:.3f} s, "
            f"max |difference| of the averages {gap:.2e}"
        )
        if gap > TOLERANCE:
            raise SystemExit(f"the averages differ by {gap:.2e} > {TOLERANCE}")
        load_module_arrays(generator, averages["looped"], "g.")
        load_module_arrays(discriminator, averages["looped"], "d.")
    looped, vmapped = (statistics.median(seconds[name][1:]) for name in ("looped", "vmapped"))
    print(
        f"median per round after warm-up: looped {looped:.3f} s, vmapped {vmapped:.3f} s, speed-up {looped / vmapped:.1f}x"
    )


if __name__ == "__main__":
    main()
