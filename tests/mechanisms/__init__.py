"""Tests of the mechanisms layer: privacy wrappers and accounting, cryptographic aggregation."""
