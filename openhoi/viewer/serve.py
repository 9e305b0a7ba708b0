"""Serve one viewer page on localhost (the page itself needs no server: file:// works too)."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

__all__ = ["serve_page"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:
        """Requests are not logged; the CLI prints the URL once."""


def serve_page(
    path: str | os.PathLike, *, port: int = 0, use_browser: bool = True, on_ready=None
) -> None:
    """Serve the folder of `path` on 127.0.0.1:`port` (0: any free port) until Ctrl-C.

    Args:
        path: the page to show (its folder is served, read-only).
        port: TCP port; 0 picks a free one.
        use_browser: open the page in the default web browser.
        on_ready: called with the page's URL once the server listens.
    """
    path = Path(path).resolve()
    handler = functools.partial(_QuietHandler, directory=str(path.parent))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/{path.name}"
        if on_ready is not None:
            on_ready(url)
        if use_browser:
            import webbrowser

            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        server.serve_forever()
