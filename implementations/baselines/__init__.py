"""The centralized baselines that federated numbers are read against: each family algorithm on one client.

Each twin is its federated algorithm with a config whose ``clients`` is fixed to 1, holding every
training row: averaging one model is the identity, so it is plain training through the same networks,
steps, optimizer recipe, engine, checkpoints and evaluation. Its presets keep each federated preset's
``rounds`` and multiply ``local_steps`` by the clients sampled per round, so both runs make the same
number of sample visits (:mod:`fedgen_registry.tasks.centralized`).

One module per family (``gan``, ``vae``, ``diffusion``, ``tabular``, ``text``), each a single call of
:func:`~fedgen_registry.tasks.centralized.centralized_registration`, so asking for one twin imports only
its own family's libraries (a GAN run does not import transformers or ctgan).
"""
