"""Serve a built site from a folder on the loopback interface, with the standard library only.

The same server backs ``fedgen site serve`` and the browser test, so what the test checks is what a
newcomer browses. It binds to 127.0.0.1: the site is for the person at this machine, not the network.
"""

from __future__ import annotations

from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def make_server(directory: Path, port: int = 8000, quiet: bool = False) -> ThreadingHTTPServer:
    """A server for ``directory`` on 127.0.0.1 (port 0 picks a free one); call ``serve_forever`` to run it."""
    if not (directory / "index.html").is_file():
        raise FileNotFoundError(f"{directory} holds no built site (no index.html); run `fedgen site build`")
    handler = _QuietHandler if quiet else SimpleHTTPRequestHandler
    return ThreadingHTTPServer((HOST, port), partial(handler, directory=str(directory)))
