"""Runs: from an id to a run directory (:mod:`.runner`), side-by-side comparisons (:mod:`.compare`) and the
app folder of a Flower deployment (:mod:`.flower_deployment`)."""
