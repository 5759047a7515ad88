"""Names on the wire between the ServerApp and the ClientApp (no torch: the hand-shake must start fast)."""

ARRAYS = "arrays"
"""A message's tensors (an ``ArrayRecord``)."""
CONFIG = "config"
"""A message's scalars (a ``ConfigRecord``)."""
ENGINE = "fedgen"
"""The engine's own ``ConfigRecord``: round, attempt, stage and seed going down; the reply's type coming up."""

PARTITION_QUERY = "query.fedgen_partition"
"""The engine's hand-shake: each node answers with its ``partition-id``, the protocol's client id."""
PARTITION_ID = "partition-id"
"""The node-config key that names the client a node is (set by the simulation or ``--node-config``)."""
