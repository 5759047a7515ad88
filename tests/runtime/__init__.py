"""Tests of the federation runtime (a package, so its conftest does not shadow the top-level one)."""
