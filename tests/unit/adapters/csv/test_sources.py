"""The data folder's CSV files as sources: each file's stat, as it is now."""

from __future__ import annotations

import os
from pathlib import Path

from adapters.csv.sources import FileSystemTableSources
from domain.tables.model import TableName

SALES = TableName("sales")


async def test_a_file_unchanged_is_the_same_source(tmp_path: Path) -> None:
    (tmp_path / "sales.csv").write_text("a,b\n1,2\n")
    sources = FileSystemTableSources(tmp_path)
    first, again = await sources.find(SALES), await sources.find(SALES)
    assert first is not None
    assert again == first


async def test_a_changed_file_is_seen_at_once(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_text("a,b\n1,2\n")
    sources = FileSystemTableSources(tmp_path)
    before = await sources.find(SALES)
    assert before is not None
    # Same size, another modification time: a rewrite of one value.
    path.write_text("a,b\n1,3\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, before.fingerprint.mtime_ns + 1_000_000))
    touched = await sources.find(SALES)
    assert touched is not None
    assert touched.fingerprint.size == before.fingerprint.size
    assert touched.fingerprint.mtime_ns == before.fingerprint.mtime_ns + 1_000_000
    path.write_text("a,b\n1,2\n3,4\n")
    grown = await sources.find(SALES)
    assert grown is not None
    assert grown.fingerprint.size == path.stat().st_size
    path.unlink()
    assert await sources.find(SALES) is None
