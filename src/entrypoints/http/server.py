"""How the API is served: uvicorn with bounded headers, header-read time and connections.

Every place that starts the API (`experiments api`, `experiments serve`, the tests' live
server) builds its uvicorn options here, from `HttpSettings`.

uvicorn's httptools protocol (the fast one, with `uvicorn[standard]`) has no limit on the size
of a request's headers nor on the time a client takes to send them: a 128 MB header stalled
the process, and a client sending a byte a second was held for ever. `BoundedHttpProtocol`
adds both: past `max_header_bytes` received before the headers end, a 431; past
`header_timeout` seconds without complete headers (an idle new connection included), a 408
or, with nothing received, the connection closed. The checks cost an addition and a
comparison per read, and one timer per request.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from entrypoints.config.settings import HttpSettings, Settings


class BoundedHttpProtocol(HttpToolsProtocol):
    """httptools with a bound on the size of headers and on the time taken to send them.

    The bounds come from the environment (`HttpSettings`) unless a subclass sets them
    (`bounded_protocol`): uvicorn's worker processes import this class by name."""

    limits: ClassVar[HttpSettings | None] = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        limits = type(self).limits
        if limits is None:
            limits = type(self).limits = Settings.from_env().http
        self._max_header_bytes = limits.max_header_bytes
        self._header_timeout = limits.header_timeout
        self._header_bytes = 0
        self._in_headers = True
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        if (
            self._in_headers
            and self._header_bytes > self._max_header_bytes
            and not self.transport.is_closing()
        ):
            self._refuse(
                431,
                "Request Header Fields Too Large",
                f"The request's headers exceed {self._max_header_bytes} bytes.",
            )

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._header_bytes = 0
        self._disarm_header_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_headers = True

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self._header_timeout, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or not self._in_headers or self._busy():
            return
        if self._header_bytes:
            self._refuse(
                408,
                "Request Timeout",
                f"The request's headers took longer than {self._header_timeout:g} s.",
            )
        else:
            self.transport.close()

    def _busy(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _refuse(self, status: int, title: str, detail: str) -> None:
        """A problem, then the connection closed; only when no response is under way."""
        if not self._busy():
            body = json.dumps({"title": title, "status": status, "detail": detail}).encode()
            self.transport.write(
                b"".join(
                    [
                        f"HTTP/1.1 {status} {title}\r\n".encode(),
                        b"content-type: application/problem+json\r\n",
                        b"x-content-type-options: nosniff\r\n",
                        b"content-length: %d\r\n" % len(body),
                        b"connection: close\r\n\r\n",
                        body,
                    ]
                )
            )
        self.transport.close()


def bounded_protocol(limits: HttpSettings) -> type[BoundedHttpProtocol]:
    """The protocol with these bounds rather than the environment's (one process only)."""
    return type("BoundedHttpProtocol", (BoundedHttpProtocol,), {"limits": limits})


def server_options(limits: HttpSettings, *, in_process: bool = True) -> dict[str, Any]:
    """uvicorn's options for serving the API under `limits`. With several worker processes
    (`in_process=False`) the protocol reads its bounds from the environment in each."""
    return {
        "http": bounded_protocol(limits) if in_process else BoundedHttpProtocol,
        # The h11 protocol's own bound, should it be chosen instead.
        "h11_max_incomplete_event_size": limits.max_header_bytes,
        "timeout_keep_alive": limits.keep_alive,
        # The access log is the service's own, in its format (access.py).
        "access_log": False,
        "limit_concurrency": limits.max_connections,
        # A worker process imports the whole service before it answers its supervisor's
        # first ping: on a loaded machine that took more than uvicorn's 5 s, and it was
        # killed as dead, again and again.
        "timeout_worker_healthcheck": 60,
    }
