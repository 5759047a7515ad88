"""Errors an engine raises when a run cannot go on; the runner shows them as one line."""


class FederationError(Exception):
    """A run stopped: quorum missed after retries, a non-finite loss, or a checkpoint that does not fit."""


def one_line(exc: BaseException, limit: int = 200) -> str:
    """``Type: first line of the message`` (at most ``limit`` characters): a library's error inside one of ours."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:limit]}" if text else type(exc).__name__
