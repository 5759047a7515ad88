"""The rule every fuzz test holds the code to: an expected error with one clear line, or a correct result."""

from __future__ import annotations


def assert_one_line(exc: BaseException) -> None:
    message = str(exc)
    assert message.strip(), f"{type(exc).__name__} with an empty message"
    assert "\n" not in message, f"{type(exc).__name__} over several lines: {message!r}"
    assert "Traceback" not in message
