"""Cryptographic aggregation: pairwise additive masks (:mod:`.secagg`) and CKKS encryption (:mod:`.ckks`)."""
