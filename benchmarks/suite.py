"""The benchmarks, each against its baseline, interleaved (see docs/benchmarks.md).

`run_suite` makes the run's environment (database, data, servers), runs the benchmarks asked
for in order, and gives the table's rows; `experiments bench` prints them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import redis
from rich.console import Console
from scipy import stats

from benchmarks import environment, wrk
from benchmarks.environment import EXPERIMENTS, Environment, Server, request
from benchmarks.measure import (
    Better,
    Load,
    Row,
    human,
    interleave,
    measured_load,
    median,
    percentile,
)
from devtools.synthetic_sales import generate_sales_data
from domain.analytics.calculate_metric import calculate_metric
from entrypoints.config.settings import Settings

BENCHMARKS = ("ingest", "logs", "launch", "metric", "experiments", "scaling")

SALES = "df_sales"
DETAILS = "df_sales_detail"
USERS = "experiment_users"
SMALL = "sales_small"
"""The scaling benchmark's smallest sales table: a tenth of the others."""
OVERHEAD_ITERATIONS = 1000
"""The near-zero metric of the job-overhead benchmark: `calculate_metric` over 1000
iterations (a fraction of a millisecond), still reporting its 50 progress points."""
AB_PARAMS = {"table": SALES, "value": "price", "from_date": "2023-10-01", "to_date": "2023-12-31"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    size: int = 1_000_000
    """Sales in the generated data (its details are about 2.7 times as many)."""
    quick: bool = False
    only: frozenset[str] = frozenset(BENCHMARKS)
    rounds: int = 3
    http_seconds: float = 5.0
    """Each wrk run."""
    connections: int = 32
    launch_connections: int = 16
    overhead_jobs: int = 30
    metric_iterations: int = 10**7
    backlog: int = 100_000
    """Jobs queued for the second launch figure."""

    @classmethod
    def make(cls, *, size: int | None, quick: bool, only: Sequence[str]) -> Options:
        chosen = frozenset(only) if only else frozenset(BENCHMARKS)
        if quick:
            return cls(
                size=size or 3000,
                quick=True,
                only=chosen,
                rounds=2,
                http_seconds=1.0,
                overhead_jobs=5,
                metric_iterations=200_000,
                backlog=2000,
            )
        return cls(size=size or 1_000_000, only=chosen)


@dataclass(slots=True)
class Context:
    """What the benchmarks share within a run."""

    env: Environment
    options: Options
    console: Console
    stack: ExitStack
    loaded: set[str] = field(default_factory=set)
    ingest_seconds: dict[str, float] = field(default_factory=dict)
    """The median time `experiments load` took per table name, for the scaling figure."""
    rows_in: dict[str, int] = field(default_factory=dict)

    servers: dict[str, Server] = field(default_factory=dict)

    def api(self) -> Server:
        """The service's API without a page cache, started on first use, shared by all."""
        if "api" not in self.servers:
            self.servers["api"] = self.stack.enter_context(environment.api(self.env, "api"))
        return self.servers["api"]

    def say(self, text: str) -> None:
        self.console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {text}")


def run_suite(settings: Settings, options: Options, console: Console) -> list[Row]:
    """Runs the benchmarks `options` names, in the order of BENCHMARKS; gives the rows."""
    missing = [
        tool
        for tool, needed_by in (
            ("wrk", {"logs", "launch", "scaling"}),
            ("psql", {"ingest", "scaling"}),
        )
        if needed_by & options.only and shutil.which(tool) is None
    ]
    if missing:
        raise RuntimeError(f"not installed: {', '.join(missing)} (Debian: wrk, postgresql-client)")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="experiments-bench-") as folder, ExitStack() as stack:
        env = stack.enter_context(environment.environment(settings, Path(folder)))
        context = Context(env=env, options=options, console=console, stack=stack)
        context.say(f"database {env.name}; generating {options.size:,} sales")
        generated = generate_sales_data(env.data_dir, sales=options.size, seed=42)
        context.rows_in = {SALES: generated.sales, DETAILS: generated.details}
        # The first command on a new database creates the schema: not part of any figure.
        ensure_loaded(context, USERS)
        for name in BENCHMARKS:
            if name in options.only:
                context.say(f"[bold]{name}[/]")
                rows += RUNNERS[name](context)
    return rows


# ---------------------------------------------------------------------------------- ingest


@dataclass(frozen=True, slots=True, kw_only=True)
class Ran:
    seconds: float
    peak_rss: int
    """Bytes: the largest resident set of the process (not of PostgreSQL's backends)."""


def run_measured(command: list[str], env: dict[str, str], log: Path) -> Ran:
    """Runs `command` to its end; its wall time and peak RSS.

    The peak is the process's own high-water mark (`VmHWM` in /proc), read every 20 ms while
    it runs: `wait4`'s `ru_maxrss` would count the suite's own memory, which the child had
    between fork and exec.
    """
    peak = 0
    with log.open("ab") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        while process.poll() is None:
            peak = max(peak, high_water_mark(process.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed ({process.returncode}); see {log}")
    return Ran(seconds=seconds, peak_rss=peak)


def high_water_mark(pid: int) -> int:
    """The peak resident set of a running process, in bytes; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def load_with_service(context: Context, table: str) -> Ran:
    """`experiments load TABLE`, as a user runs it."""
    ran = run_measured(
        [str(EXPERIMENTS), "load", table],
        context.env.service_env(),
        context.env.work_dir / "load.log",
    )
    context.loaded.add(table)
    return ran


def ensure_loaded(context: Context, *tables: str) -> None:
    for table in tables:
        if table not in context.loaded:
            context.say(f"loading {table}")
            load_with_service(context, table)


def column_types(env: Environment, table: str) -> list[tuple[str, str]]:
    """The columns the service stored `table` with (but its row key), and their SQL types."""
    with psycopg.connect(env.database_url) as conn:
        cur = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
            "AND attname <> '__row' ORDER BY attnum",
            (f'csv."{table}"',),
        )
        return [(name, kind) for name, kind in cur.fetchall()]


COPY_SCRIPT = """
SET maintenance_work_mem = '256MB';
CREATE TABLE {table} (__row bigint GENERATED ALWAYS AS IDENTITY, {columns});
\\copy {table} ({names}) FROM '{path}' WITH (FORMAT csv, HEADER true)
ALTER TABLE {table} ADD PRIMARY KEY (__row);
CREATE INDEX ON {table} (date DESC NULLS LAST, __row DESC);
CREATE INDEX ON {table} (((user_id::text) COLLATE "C"), date DESC NULLS LAST, __row DESC);
ANALYZE {table};
"""


def load_with_copy(
    context: Context, path: Path, target: str, columns: list[tuple[str, str]]
) -> Ran:
    """psql's \\copy into a table typed as the service typed it, with the same indexes."""
    script = COPY_SCRIPT.format(
        table=f"public.{target}",
        columns=", ".join(f'"{name}" {kind}' for name, kind in columns),
        names=", ".join(f'"{name}"' for name, _ in columns),
        path=str(path).replace("'", "''"),
    )
    script_file = context.env.work_dir / f"{target}.sql"
    script_file.write_text(script)
    return run_measured(
        [
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            context.env.database_url,
            "-f",
            str(script_file),
        ],
        {**os.environ},
        context.env.work_dir / "psql.log",
    )


def ingest_pair(context: Context, source: str, *, label: str) -> list[Row]:
    """`experiments load` of the file `source` against psql's \\copy, interleaved: each round
    loads a hard link of it under a new name, so every load is a first load."""
    env = context.env
    path = env.data_dir / f"{source}.csv"
    rounds = context.options.rounds
    columns: list[tuple[str, str]] = []
    counter = {"ours": 0, "copy": 0}
    rss: dict[str, list[float]] = {"ours": [], "copy": []}

    def ours() -> float:
        counter["ours"] += 1
        name = (
            source
            if counter["ours"] == 1 and source not in context.loaded
            else (f"{source}_ingest_{counter['ours']}")
        )
        if name != source:
            os.link(path, env.data_dir / f"{name}.csv")
        ran = load_with_service(context, name)
        if name != source:
            (env.data_dir / f"{name}.csv").unlink()
        if not columns:
            columns.extend(column_types(env, name))
        rss["ours"].append(ran.peak_rss)
        return ran.seconds

    def baseline() -> float:
        counter["copy"] += 1
        ran = load_with_copy(context, path, f"copy_{source}_{counter['copy']}", columns)
        rss["copy"].append(ran.peak_rss)
        return ran.seconds

    with measured_load() as load:
        result = interleave([("ours", ours), ("copy", baseline)], rounds)
        ran_load = load()
    context.ingest_seconds[source] = result.median("ours")
    size = path.stat().st_size
    rows_in = context.rows_in.get(source, 0)
    return [
        Row(
            benchmark="ingest",
            what=f"{label}: `experiments load`, {rows_in:,} rows",
            unit="s",
            better=Better.LOWER,
            ours=result.median("ours"),
            baseline=result.median("copy"),
            baseline_name="psql \\copy + indexes",
            load=ran_load,
        ),
        Row(
            benchmark="ingest",
            what=f"{label}: peak RSS (file {human(size, 'B')})",
            unit="B",
            better=Better.LOWER,
            ours=median(rss["ours"]),
            baseline=median(rss["copy"]),
            baseline_name="psql",
            load=ran_load,
            note=f"{median(rss['ours']) / size:.2f}× the file",
        ),
    ]


def bench_ingest(context: Context) -> list[Row]:
    return [
        *ingest_pair(context, SALES, label=SALES),
        *ingest_pair(context, DETAILS, label=DETAILS),
    ]


# ------------------------------------------------------------------------------------ logs


def logs_url(base: str, table: str, **params: str) -> str:
    return f"{base}/logs?" + urllib.parse.urlencode({"table_name": table, **params})


def queries(context: Context, ours: Server, table: str) -> dict[str, dict[str, str]]:
    """The five queries of the logs benchmark, with a real user and a real cursor."""
    status, _, first = request(logs_url(ours.base, table))
    if status != 200:
        raise RuntimeError(f"/logs answered {status}: {first}")
    user = first["rows"][0]["user_id"]
    return {
        "no filter": {},
        "from_date": {"from_date": "2023-06-01"},
        "user_id": {"user_id": str(user)},
        "both": {"from_date": "2022-06-01", "user_id": str(user)},
        "cursor page": {"cursor": first["next_cursor"]},
    }


def same_page(ours: str, bare: str) -> None:
    """Checks that the baseline answers what the service does: the same rows, the same next
    cursor (else the comparison would not be of the same work)."""
    _, _, expected = request(ours)
    _, _, got = request(bare)
    for key in ("rows", "next_cursor"):
        if expected[key] != got[key]:
            raise RuntimeError(f"the bare endpoint's {key} differ from the service's: {bare}")


def http_figure(
    url: str, context: Context, *, connections: int | None = None, **kwargs: Any
) -> tuple[Callable[[], float], list[wrk.WrkResult]]:
    """A contender for `interleave` running wrk on `url`; the results it kept."""
    kept: list[wrk.WrkResult] = []

    def run() -> float:
        result = wrk.run(
            url,
            connections=connections or context.options.connections,
            seconds=context.options.http_seconds,
            **kwargs,
        )
        if result.errors or result.bad_status:
            context.say(
                f"[yellow]{url}: {result.errors} socket errors, {result.bad_status} bad statuses"
            )
        kept.append(result)
        return result.rate

    return run, kept


def latencies(kept: Sequence[wrk.WrkResult]) -> str:
    p50 = median([r.p50 for r in kept]) * 1000
    p99 = median([r.p99 for r in kept]) * 1000
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"


def http_row(
    what: str,
    ours: list[wrk.WrkResult],
    baseline: list[wrk.WrkResult],
    baseline_name: str,
    load: Load,
) -> Row:
    return Row(
        benchmark="logs",
        what=what,
        unit="req/s",
        better=Better.HIGHER,
        ours=median([r.rate for r in ours]),
        baseline=median([r.rate for r in baseline]),
        baseline_name=baseline_name,
        load=load,
        note=f"{latencies(ours)}; baseline {latencies(baseline)}",
    )


def bench_logs(context: Context) -> list[Row]:
    ensure_loaded(context, SALES)
    env = context.env
    # The cached API and the baselines' server run for this benchmark only.
    with ExitStack() as stack:
        cached = stack.enter_context(environment.api(env, "api-cached", CACHE_URL=env.cache_url))
        bare = stack.enter_context(environment.bare_server(env, SALES))
        return logs_against(context, context.api(), cached, bare)


def logs_against(context: Context, uncached: Server, cached: Server, bare: Server) -> list[Row]:
    rows: list[Row] = []
    for what, params in queries(context, uncached, SALES).items():
        same_page(logs_url(uncached.base, SALES, **params), logs_url(bare.base, SALES, **params))
        ours_run, ours_kept = http_figure(logs_url(uncached.base, SALES, **params), context)
        cached_run, cached_kept = http_figure(logs_url(cached.base, SALES, **params), context)
        bare_run, bare_kept = http_figure(logs_url(bare.base, SALES, **params), context)
        contenders = [("ours", ours_run), ("cached", cached_run), ("bare", bare_run)]
        ceiling_kept: list[wrk.WrkResult] = []
        if what == "no filter":
            ceiling_run, ceiling_kept = http_figure(f"{bare.base}/ceiling", context)
            contenders.append(("ceiling", ceiling_run))
        with measured_load() as load:
            interleave(contenders, context.options.rounds)
            ran_load = load()
        bare_name = "bare Litestar + psycopg"
        rows.append(http_row(f"{what}, uncached", ours_kept, bare_kept, bare_name, ran_load))
        rows.append(http_row(f"{what}, cached", cached_kept, bare_kept, bare_name, ran_load))
        if ceiling_kept:
            rows.append(
                http_row(
                    f"{what}, uncached, against the ceiling",
                    ours_kept,
                    ceiling_kept,
                    "fixed JSON",
                    ran_load,
                )
            )
    rows.append(revalidation(context, uncached, bare))
    return rows


def revalidation(context: Context, ours: Server, bare: Server) -> Row:
    """A 304 (If-None-Match naming the page's ETag) against the fixed-JSON ceiling."""
    url = logs_url(ours.base, SALES)
    status, headers, _ = request(url)
    etag = {name.lower(): value for name, value in headers.items()}.get("etag")
    if status != 200 or etag is None:
        raise RuntimeError(f"/logs gave no ETag ({status})")
    check, _, _ = request(url, headers={"If-None-Match": etag})
    if check != 304:
        raise RuntimeError(f"If-None-Match got {check}, not 304")
    ours_run, ours_kept = http_figure(url, context, headers={"If-None-Match": etag})
    ceiling_run, ceiling_kept = http_figure(f"{bare.base}/ceiling", context)
    with measured_load() as load:
        interleave([("ours", ours_run), ("ceiling", ceiling_run)], context.options.rounds)
        ran_load = load()
    return http_row(
        "304 Not Modified (If-None-Match)", ours_kept, ceiling_kept, "fixed JSON", ran_load
    )


# ---------------------------------------------------------------------------------- launch


def send_tasks(env: Environment, queue: str, seconds: float) -> float:
    """Raw Celery send_task calls per second to `queue` on the run's broker."""
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.send_tasks", env.broker_url, queue, str(seconds)],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    counted = json.loads(completed.stdout.strip().splitlines()[-1])
    return float(counted["sent"]) / float(counted["seconds"])


def settle_flood(env: Environment, queue: str) -> None:
    """Forgets what a launch round queued (its messages and its jobs), so that every round
    starts from the same state: the jobs are marked cancelled without their NOTIFY."""
    with psycopg.connect(env.database_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "UPDATE experiments.jobs SET status = 'cancelled', finished_at = clock_timestamp() "
            "WHERE status IN ('queued', 'running') AND NOT params::text LIKE '%backlog%'"
        )
    client = redis.Redis.from_url(env.broker_url)
    try:
        client.delete(queue)
    finally:
        client.close()


COUNT_ACTIVE_AGAIN = (
    "UPDATE experiments.active_jobs SET count = "
    "(SELECT count(*) FROM experiments.jobs WHERE status IN ('queued', 'running'))"
)
"""The triggers are off while the backlog comes and goes: the active count is set anew."""


def queue_backlog(env: Environment, jobs: int) -> None:
    """`jobs` queued jobs in the job store, as if launched and never run (without NOTIFY)."""
    with psycopg.connect(env.database_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "INSERT INTO experiments.jobs (id, metric, status, params, published_at) "
            "SELECT gen_random_uuid(), 'calculate_metric', 'queued', '{\"backlog\": true}', "
            "now() FROM generate_series(1, %s)",
            (jobs,),
        )
        conn.execute(COUNT_ACTIVE_AGAIN)
        conn.execute("ANALYZE experiments.jobs")


def bench_launch(context: Context) -> list[Row]:
    env, options = context.env, context.options
    # No worker reads the queue meanwhile: what a round queues is dropped after it.
    queue = env.name
    flood = context.api()
    rows = []
    for backlog in (0, options.backlog):
        if backlog:
            context.say(f"queueing a backlog of {backlog:,} jobs")
            queue_backlog(env, backlog)
        ours_run, ours_kept = http_figure(
            f"{flood.base}/launch",
            context,
            connections=options.launch_connections,
            method="POST",
        )

        def ours(run: Callable[[], float] = ours_run) -> float:
            try:
                return run()
            finally:
                settle_flood(env, queue)

        def baseline() -> float:
            try:
                return send_tasks(env, queue, options.http_seconds)
            finally:
                settle_flood(env, queue)

        with measured_load() as load:
            result = interleave([("ours", ours), ("send_task", baseline)], options.rounds)
            ran_load = load()
        rows.append(
            Row(
                benchmark="launch",
                what=f"POST /launch, {options.launch_connections} connections"
                + (f", {backlog:,} jobs queued" if backlog else ""),
                unit="/s",
                better=Better.HIGHER,
                ours=result.median("ours"),
                baseline=result.median("send_task"),
                baseline_name="Celery send_task loop",
                load=ran_load,
                note=latencies(ours_kept),
            )
        )
    with psycopg.connect(env.database_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM experiments.jobs WHERE params::text LIKE '%backlog%'")
        conn.execute(COUNT_ACTIVE_AGAIN)
    rows += job_overhead(context)
    return rows


def wait_job(base: str, job_id: str, within: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        _, _, job = request(f"{base}/jobs/{job_id}")
        if job["status"] in {"succeeded", "failed", "cancelled"}:
            if job["status"] != "succeeded":
                raise RuntimeError(f"job {job_id} {job['status']}: {job.get('error')}")
            return dict(job)
        time.sleep(0.005)
    raise RuntimeError(f"job {job_id} did not finish within {within} s")


def launch_job(base: str, body: Any = None) -> dict[str, Any]:
    status, _, launched = request(f"{base}/launch", method="POST", body=body)
    if status != 202:
        raise RuntimeError(f"POST /launch answered {status}: {launched}")
    return wait_job(base, launched["job_id"])


def seconds_between(start: str, end: str) -> float:
    return (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()


def compute_seconds(iterations: int, repeat: int = 20) -> float:
    """The median time of the metric's own loop, here, without a job around it."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        calculate_metric(iterations)
        times.append(time.perf_counter() - started)
    return median(times)


def job_overhead(context: Context) -> list[Row]:
    """Launch to succeeded (the job's own timestamps) minus the compute time, one job at a
    time, on a worker of one process running a near-zero metric."""
    env, options = context.env, context.options
    api = context.api()
    with environment.worker(env, "worker-overhead", METRIC_ITERATIONS=str(OVERHEAD_ITERATIONS)):
        launch_job(api.base)  # the worker's first job warms it up
        compute = compute_seconds(OVERHEAD_ITERATIONS)
        overheads = []
        with measured_load() as load:
            for _ in range(options.overhead_jobs):
                job = launch_job(api.base)
                overheads.append(seconds_between(job["created_at"], job["finished_at"]) - compute)
            ran_load = load()
    note = f"{options.overhead_jobs} jobs, compute {compute * 1000:.2f} ms subtracted"
    return [
        Row(
            benchmark="launch",
            what=f"job overhead p{int(q * 100)} (launch → succeeded − compute)",
            unit="s",
            better=Better.LOWER,
            ours=percentile(overheads, q),
            baseline=None,
            baseline_name="",
            load=ran_load,
            note=note,
        )
        for q in (0.5, 0.95)
    ]


# ---------------------------------------------------------------------------------- metric

BRIEF = """
import random, sys, time
def calculate_metric():
    result = 0
    for i in range({iterations}):
        if random.randint(0, 1):
            result += i * i
    return result
started = time.perf_counter()
calculate_metric()
print(time.perf_counter() - started)
"""


def brief_alone(iterations: int) -> float:
    """The brief's function in a bare interpreter (no site packages, no project): its run."""
    completed = subprocess.run(
        [sys.executable, "-S", "-c", BRIEF.format(iterations=iterations)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(completed.stdout.strip())


@contextmanager
def compute_worker(context: Context) -> Iterator[Server]:
    """An API and a worker of one process running the full metric."""
    with environment.worker(
        context.env, "worker-compute", METRIC_ITERATIONS=str(context.options.metric_iterations)
    ):
        yield context.api()


def bench_metric(context: Context) -> list[Row]:
    iterations = context.options.metric_iterations

    with compute_worker(context) as api:

        def ours() -> float:
            job = launch_job(api.base)
            return seconds_between(job["started_at"], job["finished_at"])

        with measured_load() as load:
            result = interleave(
                [("ours", ours), ("brief", lambda: brief_alone(iterations))],
                context.options.rounds,
            )
            ran_load = load()
    return [
        Row(
            benchmark="metric",
            what=f"calculate_metric on a worker, {iterations:,} iterations",
            unit="s",
            better=Better.LOWER,
            ours=result.median("ours"),
            baseline=result.median("brief"),
            baseline_name="the brief's loop, python -S",
            load=ran_load,
            note="started → finished",
        )
    ]


# ----------------------------------------------------------------------------- experiments

BARE_AB = """
SELECT u.pilot::text, coalesce(sum(s.price), 0)
FROM csv.experiment_users AS u
LEFT JOIN csv.df_sales AS s
  ON (s.user_id::text) = (u.user_id::text)
 AND s.date >= %(start)s::date AND s.date < %(end)s::date + 1
GROUP BY u.user_id, u.pilot
"""


def bare_ab_test(env: Environment) -> float:
    """The same analysis by hand: revenue per assigned user in one query, Welch's test."""
    started = time.perf_counter()
    with psycopg.connect(env.database_url) as conn:
        conn.execute("SET work_mem = '64MB'")
        cur = conn.execute(BARE_AB, {"start": AB_PARAMS["from_date"], "end": AB_PARAMS["to_date"]})
        values = cur.fetchall()
    control = np.array([float(v) for group, v in values if group == "0"])
    treatment = np.array([float(v) for group, v in values if group == "1"])
    stats.ttest_ind(treatment, control, equal_var=False)
    return time.perf_counter() - started


def bench_experiments(context: Context) -> list[Row]:
    ensure_loaded(context, SALES, USERS)
    with compute_worker(context) as api:

        def ours() -> float:
            job = launch_job(api.base, {"metric": "ab_test", "params": AB_PARAMS})
            return seconds_between(job["started_at"], job["finished_at"])

        with measured_load() as load:
            result = interleave(
                [("ours", ours), ("bare", lambda: bare_ab_test(context.env))],
                context.options.rounds,
            )
            ran_load = load()
    return [
        Row(
            benchmark="experiments",
            what=f"ab_test on a worker, {context.rows_in[SALES]:,} sales, revenue per user",
            unit="s",
            better=Better.LOWER,
            ours=result.median("ours"),
            baseline=result.median("bare"),
            baseline_name="one GROUP BY + scipy",
            load=ran_load,
            note="started → finished",
        )
    ]


# --------------------------------------------------------------------------------- scaling


def bench_scaling(context: Context) -> list[Row]:
    env, options = context.env, context.options
    small = max(options.size // 10, 100)
    with tempfile.TemporaryDirectory(dir=env.work_dir) as folder:
        generated = generate_sales_data(Path(folder), sales=small, seed=7)
        shutil.move(str(generated.sales_path), env.data_dir / f"{SMALL}.csv")
    context.rows_in[SMALL] = generated.sales
    rows: list[Row] = []
    if SALES not in context.ingest_seconds:
        rows += ingest_pair(context, SALES, label=SALES)
    small_rows = ingest_pair(context, SMALL, label=SMALL)
    rows += small_rows[:1]
    per_row_big = context.ingest_seconds[SALES] / context.rows_in[SALES]
    per_row_small = context.ingest_seconds[SMALL] / context.rows_in[SMALL]
    rows.append(
        Row(
            benchmark="scaling",
            what=f"ingest time per row at {context.rows_in[SALES]:,} rows",
            unit="s",
            better=Better.LOWER,
            ours=per_row_big,
            baseline=per_row_small,
            baseline_name=f"at {small:,} rows",
            note="1.00× is linear",
        )
    )
    ensure_loaded(context, SALES, DETAILS)
    api = context.api()
    tables = [SMALL, SALES, DETAILS]
    for what, params in (("no filter", {}), ("user_id", None)):
        kept: dict[str, list[wrk.WrkResult]] = {}
        contenders = []
        for table in tables:
            query = params if params is not None else {"user_id": first_user(api, table)}
            run, kept[table] = http_figure(
                logs_url(api.base, table, **query), context, connections=1, threads=1
            )
            contenders.append((table, run))
        with measured_load() as load:
            interleave(contenders, options.rounds)
            ran_load = load()
        base_p50 = median([r.p50 for r in kept[SMALL]])
        for table in tables[1:]:
            rows.append(
                Row(
                    benchmark="scaling",
                    what=f"/logs {what} p50, 1 connection, {table} "
                    f"({context.rows_in[table]:,} rows)",
                    unit="s",
                    better=Better.LOWER,
                    ours=median([r.p50 for r in kept[table]]),
                    baseline=base_p50,
                    baseline_name=f"{SMALL}, {context.rows_in[SMALL]:,} rows",
                    load=ran_load,
                    note="1.00× is flat",
                )
            )
    return [row if row.benchmark == "scaling" else _as_scaling(row) for row in rows]


def _as_scaling(row: Row) -> Row:
    from dataclasses import replace

    return replace(row, benchmark="scaling")


def first_user(api: Server, table: str) -> str:
    _, _, page = request(logs_url(api.base, table))
    return str(page["rows"][0]["user_id"])


RUNNERS: dict[str, Callable[[Context], list[Row]]] = {
    "ingest": bench_ingest,
    "logs": bench_logs,
    "launch": bench_launch,
    "metric": bench_metric,
    "experiments": bench_experiments,
    "scaling": bench_scaling,
}
