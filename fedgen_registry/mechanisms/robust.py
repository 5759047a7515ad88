"""Robust aggregation as a wrapper around any FedAvg-like strategy: coordinate-wise median, trimmed mean, Krum.

Byzantine-robust rules replace the weighted mean of the uploads by a statistic a few malicious clients
cannot drag far: the coordinate-wise median (Yin et al. 2018), the coordinate-wise trimmed mean (the
same paper), and Krum / Multi-Krum (Blanchard et al. 2017), which keeps the upload(s) closest to their
``n - f - 2`` nearest neighbours. They follow Flower's ``FedMedian``, ``FedTrimmedAvg`` and ``Krum``
strategies (a test checks each against ``flwr.server.strategy.aggregate``) and, like Flower's DP
wrappers, they wrap a strategy instead of forking it: :class:`RobustAggregation` computes the robust
aggregate and hands the inner server stand-in replies that all carry it, so the inner weighted mean
returns it, and the inner server keeps everything else (its networks, weights of its own, metrics).
Client sizes are ignored, as in Flower's median and trimmed mean (Multi-Krum here averages its chosen
uploads unweighted, where Flower weighs them by examples).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from fedgen_registry.federation.protocol import Algorithm, Message, Server, WrappedServer

Rule = Literal["median", "trimmed-mean", "krum"]


class RobustConfig(BaseModel):
    """Which robust rule replaces the mean, and its parameter."""

    model_config = ConfigDict(extra="forbid")

    rule: Rule = "median"
    trim: float = Field(0.2, ge=0.0, lt=0.5, description="trimmed-mean: fraction cut from each end per coordinate.")
    malicious: int = Field(1, ge=0, description="krum: clients assumed malicious (f of n - f - 2 neighbours).")
    keep: int = Field(0, ge=0, description="krum: average this many best uploads (Multi-Krum); 0 keeps one.")


def _stack(arrays: Sequence[Mapping[str, torch.Tensor]], name: str) -> torch.Tensor:
    return torch.stack([item[name].to(torch.float64) for item in arrays])


def median(arrays: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Coordinate-wise median (the mean of the two middle values for an even count, as numpy's)."""
    result = {}
    for name, first in arrays[0].items():
        ordered = _stack(arrays, name).sort(dim=0).values
        count = len(arrays)
        middle = ordered[count // 2] if count % 2 else (ordered[count // 2 - 1] + ordered[count // 2]) / 2
        result[name] = middle.to(first.dtype)
    return result


def trimmed_mean(arrays: Sequence[Mapping[str, torch.Tensor]], trim: float) -> dict[str, torch.Tensor]:
    """Coordinate-wise mean after cutting ``int(trim * n)`` of the smallest and of the largest values."""
    cut = int(trim * len(arrays))
    if 2 * cut >= len(arrays):
        raise ValueError(f"trimming {cut} from each end of {len(arrays)} uploads leaves nothing")
    result = {}
    for name, first in arrays[0].items():
        ordered = _stack(arrays, name).sort(dim=0).values
        result[name] = ordered[cut : len(arrays) - cut].mean(dim=0).to(first.dtype)
    return result


def krum(arrays: Sequence[Mapping[str, torch.Tensor]], malicious: int, keep: int = 0) -> dict[str, torch.Tensor]:
    """Krum: the upload whose ``n - f - 2`` nearest uploads are closest (squared L2); Multi-Krum averages ``keep``."""
    flat = torch.stack([torch.cat([item[n].to(torch.float64).flatten() for n in arrays[0]]) for item in arrays])
    distances = torch.cdist(flat, flat).square()
    neighbours = max(1, len(arrays) - malicious - 2)
    scores = distances.sort(dim=1).values[:, 1 : neighbours + 1].sum(dim=1)
    if keep == 0:
        return {name: value.clone() for name, value in arrays[int(scores.argmin())].items()}
    best = scores.argsort()[:keep].tolist()
    chosen = [arrays[i] for i in best]
    return {name: _stack(chosen, name).mean(dim=0).to(first.dtype) for name, first in arrays[0].items()}


def robust_aggregate(arrays: Sequence[Mapping[str, torch.Tensor]], config: RobustConfig) -> dict[str, torch.Tensor]:
    if config.rule == "median":
        return median(arrays)
    if config.rule == "trimmed-mean":
        return trimmed_mean(arrays, config.trim)
    return krum(arrays, config.malicious, config.keep)


class RobustAggregation(WrappedServer):
    """``inner`` with its weighted mean of uploads replaced by :func:`robust_aggregate` (see the module)."""

    def __init__(self, inner: Server, config: RobustConfig) -> None:
        super().__init__(inner)
        self.config = config

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        order = sorted(replies)
        robust = robust_aggregate([replies[cid].arrays for cid in order], self.config)
        stand_ins = {cid: Message(replies[cid].message_type, robust, replies[cid].config) for cid in order}
        return self.inner.aggregate(stage, server_round, stand_ins)


def with_robust_aggregation(algorithm_class: type[Algorithm[Any]], config: RobustConfig) -> type[Algorithm[Any]]:
    """``algorithm_class`` whose server aggregates robustly; everything else (data, clients, judging) unchanged.

    Meant for strategies whose server uses the uploads through their mean (``weighted_mean_upload``):
    wrapping anything else would change what its server computes, so it is refused.
    """
    if not algorithm_class.weighted_mean_upload:
        raise ValueError(
            f"{algorithm_class.__name__} does not use the uploads only through their mean "
            "(weighted_mean_upload is False), so a robust rule cannot stand in for that mean"
        )

    class Robust(algorithm_class):  # type: ignore[misc, valid-type]
        weighted_mean_upload = False  # the robust rule needs every upload, so secure aggregation no longer fits

        def make_server(self) -> Server:
            return RobustAggregation(super().make_server(), config)

        def finish(self, server: Server) -> dict[str, Any]:
            return super().finish(server.inner if isinstance(server, RobustAggregation) else server)

    Robust.__name__ = Robust.__qualname__ = f"Robust{algorithm_class.__name__}"
    return Robust
