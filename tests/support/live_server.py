"""The app served by uvicorn on a free port, in a thread: for streams and real clients."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from litestar import Litestar

from devtools.embedded import free_port
from entrypoints.config.settings import HttpSettings
from entrypoints.http.server import server_options
from tests.support.polling import eventually_sync


@contextmanager
def serving(app: Litestar, limits: HttpSettings | None = None) -> Iterator[str]:
    """Serves `app` until the block ends, as the API is served (`server_options`), under
    `limits` (the defaults when None); yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        **server_options(limits or HttpSettings()),
    )
    server = uvicorn.Server(config)
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
