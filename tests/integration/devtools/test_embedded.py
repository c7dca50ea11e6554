"""The embedded PostgreSQL of `experiments serve` and the test fallback: the wheel's binaries,
started by our code (ADR 0020). A data folder made on first use and served again warm, with a
password and no Unix socket; as root, run by `nobody`, handed the data folder only; folders it
cannot use refused with what to do."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from devtools import embedded
from devtools.embedded import (
    Account,
    EmbeddedServerError,
    as_account,
    check_postgres_folder,
    closed_folder,
    embedded_postgres,
    postgres_binaries,
    postgres_major,
    reachable_binaries,
    server_account,
)
from devtools.processes import alive
from tests.support.services import open_temp_folder

NOBODY = Account(name="nobody", uid=65534, gid=65534)
"""An account other than the one running the tests, whoever that is."""


@pytest.fixture
def folder() -> Iterator[Path]:
    with open_temp_folder("experiments-embedded-test-") as path:
        yield path


def test_a_new_data_folder_is_made_served_and_kept_for_the_next_start(folder: Path) -> None:
    data = folder / "postgres"

    with embedded_postgres(data) as url, psycopg.connect(url, autocommit=True) as conn:
        settings = conn.execute(
            "SELECT current_setting('server_version_num')::int / 10000,"
            " pg_encoding_to_char(encoding), datcollate, current_user,"
            " current_setting('listen_addresses'), current_setting('unix_socket_directories')"
            " FROM pg_database WHERE datname = current_database()"
        ).fetchone()
        conn.execute("CREATE TABLE kept (answer int)")
        conn.execute("INSERT INTO kept VALUES (42)")
        postmaster = int((data / "postmaster.pid").read_text().split()[0])
    first = urlsplit(url)

    assert settings == (18, "UTF8", "C", "postgres", "127.0.0.1", "")
    assert (first.scheme, first.hostname, first.username, first.path) == (
        "postgresql",
        "127.0.0.1",
        "postgres",
        "/postgres",
    )
    assert first.password == (data / "password").read_text()
    assert stat.S_IMODE((data / "password").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert not alive(postmaster)

    with embedded_postgres(data) as again, psycopg.connect(again) as conn:
        kept = conn.execute("SELECT answer FROM kept").fetchall()

    assert kept == [(42,)]
    assert urlsplit(again).password == first.password


def modes(paths: list[Path]) -> list[tuple[int, int]]:
    return [(path.stat().st_uid, path.stat().st_mode) for path in paths]


def test_as_root_only_the_data_folder_is_handed_to_nobody(folder: Path) -> None:
    """Whoever runs the tests: as root the server's files are nobody's, else the user's; no
    other folder changes owner or mode."""
    others = [folder, *folder.parents, *postgres_binaries().parents]
    before = modes(others)
    account = server_account()
    owner = os.geteuid() if account is None else account.uid

    with embedded_postgres(folder / "postgres") as url, psycopg.connect(url) as conn:
        conn.execute("SELECT 1")
        server = (folder / "postgres" / "postmaster.pid").stat()

    assert server.st_uid == owner
    assert {path.stat().st_uid for path in (folder / "postgres").rglob("*")} == {owner}
    assert modes(others) == before


def test_a_wrong_password_is_refused(folder: Path) -> None:
    with embedded_postgres(folder / "postgres") as url:
        wrong = url.replace(urlsplit(url).password or "", "not-the-password")
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(wrong).close()


def test_a_data_folder_of_another_major_version_is_refused_untouched(folder: Path) -> None:
    data = folder / "postgres"
    data.mkdir()
    (data / "PG_VERSION").write_text("16\n")
    (data / "base").mkdir()

    with pytest.raises(EmbeddedServerError) as refused, embedded_postgres(data):
        pass

    assert "PostgreSQL 16" in str(refused.value)
    assert f"mv {data} {data}-16" in str(refused.value)
    assert sorted(path.name for path in data.iterdir()) == ["PG_VERSION", "base"]


def test_a_folder_that_is_no_data_folder_is_refused(folder: Path) -> None:
    data = folder / "postgres"
    data.mkdir()
    (data / "notes.txt").write_text("mine")

    with pytest.raises(EmbeddedServerError, match="not a PostgreSQL data folder"):
        check_postgres_folder(data)


def test_a_folder_the_server_account_cannot_enter_is_named(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = folder / "closed"
    closed.mkdir(mode=0o700)
    monkeypatch.setattr(embedded, "server_account", lambda: NOBODY)

    with pytest.raises(EmbeddedServerError) as refused:
        check_postgres_folder(closed / "state" / "postgres")

    assert closed_folder(closed / "state", NOBODY) == closed
    assert f"may not enter {closed} (mode 0700)" in str(refused.value)
    assert "--state-dir" in str(refused.value)
    assert stat.S_IMODE(closed.stat().st_mode) == 0o700


def test_open_folders_are_reachable(folder: Path) -> None:
    (folder / "inside").mkdir(mode=0o755)

    assert closed_folder(folder / "inside", NOBODY) is None


def link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def test_binaries_the_server_account_cannot_reach_are_copied_beside_the_data(
    tmp_path: Path, folder: Path
) -> None:
    """A checkout under a closed folder (CI's may be under /root): the wheel's layout is
    copied, its libraries beside the package, and the copy runs (as nobody, as root)."""
    wheel = postgres_binaries().parents[1]
    closed = tmp_path / "closed"
    site = closed / "site-packages"
    for part in (wheel, wheel.with_name(f"{wheel.name}.libs")):
        if part.is_dir():
            shutil.copytree(part, site / part.name, copy_function=link_or_copy)
    closed.chmod(0o700)
    hidden = site / wheel.name / "pginstall" / "bin"
    spare = folder / "state"
    spare.mkdir()

    copied = reachable_binaries(hidden, NOBODY, spare)
    again = reachable_binaries(hidden, NOBODY, spare)
    runs = subprocess.run(
        [str(copied / "initdb"), "--version"],
        capture_output=True,
        text=True,
        check=True,
        **as_account(server_account()),
    )

    assert copied == spare / "postgres-binaries" / wheel.name / "pginstall" / "bin"
    assert again == copied
    assert (copied / "postgres").read_bytes() == (hidden / "postgres").read_bytes()
    assert closed_folder(copied, NOBODY) is None
    assert reachable_binaries(copied, NOBODY, spare) == copied
    assert runs.stdout.split()[-1].split(".")[0] == postgres_major(copied)
    assert stat.S_IMODE(closed.stat().st_mode) == 0o700
