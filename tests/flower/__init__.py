"""Tests of the flower engine (a package, so its conftest does not shadow the top-level one)."""
