"""Tabular building blocks: tables and their splits, the federated CTGAN encoding, CTGAN networks, table metrics.

Every heavy library (pandas, ctgan, rdt, sdmetrics, torch) is imported by the modules below, never here.
"""
