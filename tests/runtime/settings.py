"""Settings the runtime tests share."""

# Small evaluation settings: the tests check mechanisms, not sample quality.
FAST_EVAL = {"eval.samples": 64, "eval.kid_subsets": 2, "eval.kid_subset_size": 32}
