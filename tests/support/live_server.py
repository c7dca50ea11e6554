"""The app served by uvicorn on a free port, in a thread: for streams and real clients."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from litestar import Litestar

from devtools.embedded import free_port
from tests.support.polling import eventually_sync


@contextmanager
def serving(app: Litestar) -> Iterator[str]:
    """Serves `app` until the block ends; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def started() -> bool:
        if not thread.is_alive():
            raise RuntimeError("the API's thread ended before it started")
        return server.started

    eventually_sync(started, within=20, what="the API to start", every=0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
