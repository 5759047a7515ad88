"""Data: datasets (bundled and local real-scale), partitioners, the per-client view and its sample meter.

Nothing here knows what is trained on the rows: tasks, objectives and strategies read them through
:class:`~fedgen_registry.data.local.LocalData`.
"""
