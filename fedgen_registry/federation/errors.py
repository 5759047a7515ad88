"""Errors an engine raises when a run cannot go on; the runner shows them as one line."""


class FederationError(Exception):
    """A run stopped: quorum missed after retries, a non-finite loss, or a checkpoint that does not fit."""
