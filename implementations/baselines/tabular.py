"""The centralized tabular baseline: see :mod:`fedgen_registry.implementations.baselines` for what a twin is.

One module per family, so that asking for one twin imports only its own family's libraries.
"""

from __future__ import annotations

from fedgen_registry.catalog.claims import TABLES, Claim, ClaimRun, table_target_checks
from fedgen_registry.registry import register
from fedgen_registry.strategies.tabular import (
    FEDAVG_TABULAR_GAN_QUALITY,
    FEDAVG_TABULAR_GAN_SMOKE,
    FedAvgTabularGANAlgorithm,
    FedAvgTabularGANConfig,
)
from fedgen_registry.tasks.centralized import centralized_registration


@register(
    "centralized-tabular-gan",
    family="tabular-gan",
    summary="Centralized CTGAN baseline: the FedAvg-Tabular-GAN networks and steps on all the rows at one place.",
    **centralized_registration(
        FedAvgTabularGANConfig, {"smoke": FEDAVG_TABULAR_GAN_SMOKE, "quality": FEDAVG_TABULAR_GAN_QUALITY}
    ),
    claim=Claim(
        statement="The CTGAN recipe (conditional generator, WGAN-GP critic, five critic updates per generator update) "
        "trained on all the rows reaches sdmetrics quality >= 0.8 and a train-on-synthetic accuracy within 5 points "
        "of train-on-real, on breast cancer and on wine.",
        runs={table: ClaimRun(implementation="centralized-tabular-gan", overrides=o) for table, o in TABLES.items()},
        checks=[check for table in TABLES for check in table_target_checks(table)],
        note="Issue 10's tabular target. TSTR and TRTR are the same classifier's accuracy on the held-out real rows, "
        "trained on synthetic or on the real training rows.",
    ),
)
class CentralizedTabularGAN(FedAvgTabularGANAlgorithm):
    """Same server and client logic as FedAvg-Tabular-GAN; only the config differs (one client)."""
