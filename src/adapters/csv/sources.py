"""CSV files directly inside the data folder, each the source of one table."""

from __future__ import annotations

import asyncio
import builtins
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from stat import S_ISLNK, S_ISREG

from domain.tables.errors import InvalidTableName
from domain.tables.model import Fingerprint, SourceFile, TableName
from domain.tables.ports import TableSources

log = logging.getLogger(__name__)


def inside(data_dir: Path, file_name: str) -> Path | None:
    """The file `file_name` of the (resolved) `data_dir`, or None when the name or a symbolic
    link would lead out of it: names come from users and from the file system."""
    path = data_dir / file_name
    try:
        if path.resolve().parent != data_dir:
            return None
    except (OSError, RuntimeError):
        return None
    return path


class FileSystemTableSources(TableSources):
    """Every `*.csv` file directly inside `data_dir` is a table named after the file's stem.

    Symbolic links are followed only when they resolve to a regular file inside `data_dir`.
    """

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir.resolve()
        self._data_dir_text = str(self._data_dir)
        # The last source seen of each file (its name is the table's: the stem), handed out
        # again while its stat is the same (of a file that exists: the folder bounds it).
        self._seen: dict[str, SourceFile] = {}

    async def find(self, name: TableName) -> SourceFile | None:
        # One stat of a local file, microseconds: a thread hop would cost more than it saves.
        return self._find(name)

    async def list(self) -> Sequence[SourceFile]:
        return await asyncio.to_thread(self._list)

    def _find(self, name: TableName) -> SourceFile | None:
        # The exact name first (one stat); any case of the suffix after (a directory scan).
        exact = self._source(name, f"{name}.csv")
        if exact is not None:
            return exact
        return next((source for source in self._list() if source.table == name), None)

    def _list(self) -> builtins.list[SourceFile]:
        sources: dict[str, SourceFile] = {}
        try:
            entries = sorted(os.scandir(self._data_dir), key=lambda entry: entry.name)
        except FileNotFoundError:
            log.warning("The data folder %s does not exist", self._data_dir)
            return []
        for entry in entries:
            stem, suffix = os.path.splitext(entry.name)
            if suffix.lower() != ".csv" or stem in sources:
                continue
            try:
                name = TableName(stem)
            except InvalidTableName as error:
                log.warning("Skipping %s: %s", entry.name, error.detail)
                continue
            source = self._source(name, entry.name)
            if source is not None:
                sources[stem] = source
        return [sources[stem] for stem in sorted(sources)]

    def _source(self, name: TableName, file_name: str) -> SourceFile | None:
        # A name has no separator and cannot be `..` (TableName), so a path that is not a
        # symbolic link is inside the data folder: one lstat, no resolving of every component.
        try:
            # os's own call on a string: pathlib's wrapping cost as much as the lstat itself.
            stat = os.lstat(os.path.join(self._data_dir_text, file_name))
            if S_ISLNK(stat.st_mode):
                linked = inside(self._data_dir, file_name)
                if linked is None:
                    return None
                stat = linked.stat()
        except OSError:
            return None
        if not S_ISREG(stat.st_mode):
            return None
        fingerprint = Fingerprint(size=stat.st_size, mtime_ns=stat.st_mtime_ns)
        seen = self._seen.get(file_name)
        if seen is not None and seen.fingerprint.same_stat(fingerprint):
            return seen
        source = self._seen[file_name] = SourceFile(
            table=name, file_name=file_name, fingerprint=fingerprint
        )
        return source
