"""Hypothesis profiles for the fuzz tests: a bounded budget in CI, a long one for ``bench/bench_fuzz.py``.

``HYPOTHESIS_PROFILE=long`` (or ``--hypothesis-profile long``) raises every property's budget a
hundredfold; the database is off so a CI run never depends on an earlier one.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

COMMON = {"deadline": None, "database": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", max_examples=25, **COMMON)
settings.register_profile("long", max_examples=2500, **COMMON)
settings.load_profile("ci")
