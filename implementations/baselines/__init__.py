"""Centralized twins: each federated family algorithm on one client that holds every row (the quality ceiling)."""
