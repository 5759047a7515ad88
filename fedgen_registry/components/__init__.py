"""Shared building blocks for implementations: data, partitioners, models, GAN steps, metrics, artefacts.

Components know nothing of the catalogue or of which engine runs them; algorithms are built from them.
"""
