"""The API through faults of its clients and its servers: bounded, truthful, and closed to
other sites (docs/reliability.md, rows H1-H10)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psycopg

from tests.support.own_servers import OwnPostgres, OwnRedis
from tests.support.polling import eventually_sync
from tests.support.service_processes import Api, Service, launch


def health_latency(api: Api, *, times: int = 5) -> float:
    """The slowest of a few `GET /health` answers, in seconds (each must be 200)."""
    slowest = 0.0
    with httpx.Client(base_url=api.url, timeout=30) as client:
        for _ in range(times):
            start = time.monotonic()
            assert client.get("/health").status_code == 200
            slowest = max(slowest, time.monotonic() - start)
            time.sleep(0.1)
    return slowest


def test_a_held_lock_fails_fast_and_leaves_the_other_endpoints_alone(
    service: Service, own_postgres: OwnPostgres, database: str
) -> None:
    api = service.api(DATABASE_LOCK_TIMEOUT=2, DATABASE_POOL_SIZE=5)
    with service.client(api) as client:
        assert client.get("/jobs").status_code == 200
        with own_postgres.holding_lock(database.rsplit("/", 1)[1], "experiments", "jobs"):
            start = time.monotonic()
            locked = client.get("/jobs")
            waited = time.monotonic() - start
            # More waiting requests than the pool has connections.
            answers = []
            threads = [
                threading.Thread(target=lambda: answers.append(client.get("/jobs").status_code))
                for _ in range(12)
            ]
            for thread in threads:
                thread.start()
            slowest_health = health_latency(api)
            for thread in threads:
                thread.join(60)

        assert locked.status_code == 503
        assert waited < 10
        assert set(answers) == {503}
        assert slowest_health < 3
        assert client.get("/jobs").status_code == 200


def test_abandoned_requests_give_their_connections_back(
    service: Service, own_postgres: OwnPostgres, database: str
) -> None:
    api = service.api(DATABASE_LOCK_TIMEOUT=120, DATABASE_POOL_SIZE=5)
    name = database.rsplit("/", 1)[1]
    with service.client(api) as client:
        assert client.get("/jobs").status_code == 200
        with own_postgres.holding_lock(name, "experiments", "jobs"):
            for _ in range(10):
                with contextlib.suppress(httpx.TimeoutException):
                    httpx.get(f"{api.url}/jobs", timeout=0.5)

            def none_waiting() -> bool:
                with psycopg.connect(database) as conn:
                    row = conn.execute(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = %s AND wait_event_type = 'Lock'",
                        (name,),
                    ).fetchone()
                return row == (0,)

            eventually_sync(none_waiting, within=15, what="the abandoned queries to be cancelled")
            slowest_health = health_latency(api)

        assert slowest_health < 3
        assert client.get("/jobs").status_code == 200


def test_a_table_too_wide_for_postgres_is_the_clients_error_not_an_outage(
    service: Service, fault_data_dir: Path
) -> None:
    columns = [f"c{i}" for i in range(1700)]
    (fault_data_dir / "wide.csv").write_text(
        ",".join(["date", *columns]) + "\n" + ",".join(["2024-01-01", *["1"] * 1700]) + "\n"
    )
    api = service.api()
    with service.client(api) as client:
        first = client.get("/logs", params={"table_name": "wide"})
        again = client.get("/logs", params={"table_name": "wide"})
        health = client.get("/health")

    assert 400 <= first.status_code < 500, first.text
    assert again.status_code == first.status_code
    assert "unavailable" not in first.text.lower()
    assert health.status_code == 200


def test_postgres_restarted_under_the_api_fails_no_request_after_it_is_back(
    service: Service, own_postgres: OwnPostgres
) -> None:
    api = service.api()
    worker = service.worker(concurrency=2)
    with service.client(api) as client:
        ids = {launch(client) for _ in range(6)}
        own_postgres.restart("fast")
        after = [client.get("/jobs").status_code for _ in range(5)]
        ids |= {launch(client) for _ in range(4)}

        jobs = service.store.wait_final(ids, within=90)

    assert after == [200] * 5
    assert {job.status for job in jobs.values()} == {"succeeded"}
    assert worker.running


def test_a_64_mb_header_is_refused_without_stalling_anyone(service: Service) -> None:
    api = service.api()
    outcome: list[bytes] = []

    def send_huge_header() -> None:
        with socket.create_connection(("127.0.0.1", api.port), timeout=60) as sock:
            try:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Huge: ")
                chunk = b"a" * (1 << 20)
                for _ in range(64):
                    sock.sendall(chunk)
                sock.sendall(b"\r\n\r\n")
                outcome.append(sock.recv(200))
            except OSError as error:
                outcome.append(repr(error).encode())

    sender = threading.Thread(target=send_huge_header, daemon=True)
    sender.start()
    time.sleep(0.2)
    slowest = health_latency(api, times=10)
    sender.join(90)

    assert slowest < 3
    assert outcome
    assert not outcome[0].startswith(b"HTTP/1.1 200"), outcome[0][:100]


def test_a_client_that_never_finishes_its_headers_is_disconnected(service: Service) -> None:
    api = service.api()
    with socket.create_connection(("127.0.0.1", api.port), timeout=90) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        try:
            data = sock.recv(200)
        except OSError:
            data = b""
        closed_after = time.monotonic() - start

    assert closed_after < 60
    assert not data.startswith(b"HTTP/1.1 200")


async def _streams_scenario(api: Api, count: int) -> tuple[Counter[str], float, int]:
    """Opens `count` event streams at once (500 at a time) and, while they are open, times
    `/health` and launches a job; returns the streams' status codes, the slowest health
    answer and the launch's status."""
    statuses: Counter[str] = Counter()
    writers: list[asyncio.StreamWriter] = []

    async def one() -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
            writers.append(writer)
            writer.write(b"GET /jobs/events HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), 30)
            statuses[line.split(b" ")[1].decode() if line.count(b" ") >= 1 else "closed"] += 1
        except (OSError, TimeoutError) as error:
            statuses[type(error).__name__] += 1

    try:
        for start in range(0, count, 500):
            await asyncio.gather(*(one() for _ in range(min(500, count - start))))
        slowest = await asyncio.to_thread(health_latency, api)
        launched = await asyncio.to_thread(
            lambda: httpx.post(f"{api.url}/launch", timeout=30).status_code
        )
    finally:
        for writer in writers:
            writer.transport.abort()
    return statuses, slowest, launched


def test_thousands_of_event_streams_are_capped_and_the_rest_keep_working(
    service: Service,
) -> None:
    api = service.api()

    statuses, slowest, launched = asyncio.run(_streams_scenario(api, 3000))

    accepted = statuses["200"]
    refused = statuses["429"] + statuses["503"]
    assert 0 < accepted < 3000, statuses
    assert accepted + refused == 3000, statuses
    assert slowest < 3
    assert launched == 202


def test_a_cross_site_post_is_refused_and_a_bare_post_still_launches(service: Service) -> None:
    api = service.api()
    with service.client(api) as client:
        form = client.post(
            "/launch",
            content=b"metric=calculate_metric",
            headers={
                "Origin": "https://evil.example",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        foreign = client.post("/launch", headers={"Origin": "https://evil.example"})
        bare = client.post("/launch")

    assert form.status_code == 403
    assert foreign.status_code == 403
    assert bare.status_code == 202


def test_with_api_tokens_launching_and_cancelling_need_a_bearer_token(service: Service) -> None:
    api = service.api(API_TOKENS="s3cret-token")
    with service.client(api) as client:
        anonymous = client.post("/launch")
        wrong = client.post("/launch", headers={"Authorization": "Bearer nope"})
        job_id = launch(client, headers={"Authorization": "Bearer s3cret-token"})
        cancel_anonymous = client.post(f"/jobs/{job_id}/cancel")
        cancel = client.post(
            f"/jobs/{job_id}/cancel", headers={"Authorization": "Bearer s3cret-token"}
        )
        read = client.get(f"/jobs/{job_id}")

    assert anonymous.status_code == 401
    assert wrong.status_code == 401
    assert cancel_anonymous.status_code == 401
    assert cancel.status_code == 200
    assert read.status_code == 200


def test_the_page_and_the_docs_are_served_with_security_headers(service: Service) -> None:
    api = service.api()
    with service.client(api) as client:
        responses = [client.get("/"), client.get("/schema")]

    for response in responses:
        assert response.status_code == 200
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"]


def test_readiness_says_503_with_the_broker_down_and_liveness_stays_200(
    service: Service, broker: OwnRedis, own_postgres: OwnPostgres
) -> None:
    api = service.api()
    with service.client(api) as client:
        assert client.get("/health/ready").status_code == 200
        broker.shutdown(lose_data=False)
        live = client.get("/health")
        ready = client.get("/health/ready")
        broker.start()
        back = eventually_sync(
            lambda: client.get("/health/ready").status_code == 200,
            within=30,
            what="readiness again",
        )
        own_postgres.stop("fast")
        try:
            no_database = client.get("/jobs")
        finally:
            own_postgres.start()

    assert live.status_code == 200
    assert ready.status_code == 503
    assert "broker" in ready.text
    assert back
    assert no_database.status_code == 503
    # Error details never show internal addresses.
    assert "127.0.0.1" not in no_database.text
    assert str(own_postgres.port) not in no_database.text


def test_metrics_are_served_in_the_prometheus_format(service: Service) -> None:
    api = service.api()
    service.worker()
    with service.client(api) as client:
        job_id = launch(client)
        service.store.wait_final({job_id}, within=60)
        metrics = client.get("/metrics")

    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "# TYPE" in metrics.text
    assert "succeeded" in metrics.text
