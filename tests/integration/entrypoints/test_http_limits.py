"""The API's bounds, against a real uvicorn served as the API is (`server_options`)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import httpx
import pytest

from entrypoints.config.settings import HttpSettings, Settings
from entrypoints.http.app import create_app
from tests.support.live_server import serving
from tests.support.polling import eventually_sync
from tests.support.service_app import settings_with


@contextmanager
def served(settings: Settings, **limits: float) -> Iterator[tuple[str, int]]:
    bounds = HttpSettings(**{**{"header_timeout": 30.0}, **limits})  # type: ignore[arg-type]
    with serving(create_app(settings), bounds) as base_url:
        host, port = base_url.removeprefix("http://").split(":")
        yield host, int(port)


def status_of(sock: socket.socket) -> int | None:
    """The status of the response `sock` receives; None if it was closed without one."""
    sock.settimeout(10)
    try:
        head = sock.recv(65536)
    except ConnectionResetError:
        return None
    return int(head.split()[1]) if head else None


def test_headers_past_the_bound_are_a_431(settings: Settings) -> None:
    with served(settings, max_header_bytes=16384) as address:
        sock = socket.create_connection(address)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536)
        assert status_of(sock) == 431
        sock.close()
        assert httpx.get(f"http://{address[0]}:{address[1]}/health").status_code == 200


def test_a_64_mb_header_is_cut_short_and_health_answers_meanwhile(settings: Settings) -> None:
    sent = 0
    with served(settings) as address:
        sock = socket.create_connection(address)

        def send() -> None:
            nonlocal sent
            chunk = b"a" * 65536
            with suppress(OSError):
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
                for _ in range(1024):  # 64 MB at most
                    sock.sendall(chunk)
                    sent += len(chunk)

        sender = threading.Thread(target=send)
        sender.start()
        health = httpx.get(f"http://{address[0]}:{address[1]}/health", timeout=10)
        sender.join(30)
        sock.close()
    assert health.status_code == 200
    assert not sender.is_alive()
    # The server closed the connection long before 64 MB: what was sent filled only the
    # socket buffers beyond the 64 KiB bound.
    assert sent < 16 * 2**20


def test_headers_sent_too_slowly_are_a_408(settings: Settings) -> None:
    with served(settings, header_timeout=1.0) as address:
        sock = socket.create_connection(address)
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        statuses: list[int | None] = []

        def dribble() -> None:
            with suppress(OSError):
                for _ in range(100):  # 20 s at most
                    sock.sendall(b"X-Slow: 1\r\n")
                    if statuses:
                        return
                    threading.Event().wait(0.2)

        dribbler = threading.Thread(target=dribble)
        dribbler.start()
        statuses.append(status_of(sock))
        dribbler.join(30)
        sock.close()
    assert statuses == [408]


def test_an_idle_new_connection_is_closed(settings: Settings) -> None:
    with served(settings, header_timeout=0.5) as address:
        sock = socket.create_connection(address)
        assert status_of(sock) is None


def test_connections_past_the_bound_are_a_503(settings: Settings) -> None:
    with served(settings, max_connections=5) as address:
        idle = [socket.create_connection(address) for _ in range(5)]
        url = f"http://{address[0]}:{address[1]}/health"

        def refused() -> bool:
            return httpx.get(url).status_code == 503

        eventually_sync(refused, within=10, what="a request past the bound to be refused")
        for sock in idle:
            sock.close()
        eventually_sync(
            lambda: httpx.get(url).status_code == 200, within=10, what="the bound to free up"
        )


async def open_stream(host: str, port: int, client: str) -> tuple[int, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET /jobs/events HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: {client}\r\n\r\n".encode()
    )
    await writer.drain()
    line = await asyncio.wait_for(reader.readline(), 20)
    return int(line.split()[1]), writer


async def test_event_streams_are_bounded_per_client_and_in_total(
    service_env: dict[str, str],
) -> None:
    settings = settings_with(service_env, EVENTS_MAX_STREAMS=5, EVENTS_MAX_STREAMS_PER_CLIENT=3)
    with served(settings) as (host, port):
        first = [await open_stream(host, port, "10.0.0.1") for _ in range(4)]
        second = [await open_stream(host, port, "10.0.0.2") for _ in range(2)]
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
            refused = await client.get("/jobs/events", headers={"X-Forwarded-For": "10.0.0.3"})
            health = await client.get("/health")
        await close([writer for _, writer in first + second])
        # Closed streams give their slots back.
        again = await _eventually_open(host, port, "10.0.0.1")
        await close([again[1]])
    assert [status for status, _ in first] == [200, 200, 200, 429]
    assert [status for status, _ in second] == [200, 200]
    assert refused.status_code == 503
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.headers["retry-after"]
    assert health.status_code == 200
    assert again[0] == 200


async def test_thousands_of_streams_are_refused_past_the_bound_and_the_api_still_answers(
    service_env: dict[str, str],
) -> None:
    settings = settings_with(service_env, EVENTS_MAX_STREAMS=50, EVENTS_MAX_STREAMS_PER_CLIENT=10)
    statuses: list[int] = []
    writers: list[asyncio.StreamWriter] = []
    with served(settings, max_connections=5000) as (host, port):
        for batch in range(10):
            # Three clients first, each past its own bound; then many, past the total.
            clients = [f"10.1.0.{n % 3}" if batch == 0 else f"10.1.{batch}.{n}" for n in range(200)]
            opened = await asyncio.gather(*(open_stream(host, port, c) for c in clients))
            statuses += [status for status, _ in opened]
            writers += [writer for status, writer in opened if status == 200]
            await close([writer for status, writer in opened if status != 200])
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=10) as client:
            health = await client.get("/health")
            jobs = await client.get("/jobs")
        await close(writers)
    assert len(statuses) == 2000
    assert statuses[:200].count(200) == 30
    assert statuses[:200].count(429) == 170
    assert statuses.count(200) == 50
    assert statuses[200:].count(503) == 1780
    assert (health.status_code, jobs.status_code) == (200, 200)


async def close(writers: list[asyncio.StreamWriter]) -> None:
    """Closes the connections, and waits until they are (the server must see them go before
    the test's thread blocks on stopping it)."""
    for writer in writers:
        writer.close()
    await asyncio.gather(*(writer.wait_closed() for writer in writers), return_exceptions=True)


async def _eventually_open(host: str, port: int, client: str) -> tuple[int, asyncio.StreamWriter]:
    for _ in range(100):
        status, writer = await open_stream(host, port, client)
        if status == 200:
            return status, writer
        await close([writer])
        await asyncio.sleep(0.1)
    pytest.fail("a stream's slot was never given back")
