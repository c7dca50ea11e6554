"""Reading a CSV file: its rows, checked, hashed and fed to type inference, in one pass.

No database here: what is wrong with a file (not CSV, rows of the wrong width, bytes that are
not UTF-8, NUL characters) is found while reading and reported with its line and column.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterator
from typing import Any, BinaryIO, Final

from domain.tables.errors import MalformedSource
from domain.tables.inference import ColumnInferrer, InferredColumn, StoreLimits
from domain.tables.model import FileFormat, Fingerprint

CHUNK_BYTES: Final = 1 << 20
"""Bytes read from the file at a time, and the size of each chunk of rows handed on."""
MAX_FIELD_BYTES: Final = 16 << 20
"""The largest cell read (Python's csv module refuses longer fields)."""


class EncodingMisjudged(Exception):
    """A file read as UTF-8, all ASCII up to here, has a byte that is not UTF-8: its first
    bytes said nothing of its encoding, and it is to be read again in one told from here."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"not UTF-8 after byte {offset}")
        self.offset = offset


class CsvReader:
    """Reads a CSV file row by row, checking, hashing and inferring as it goes.

    Blocking and CPU-bound: run it in a worker thread. It yields the rows again as CSV chunks
    (UTF-8, one record a line, the row's position in the file first), so that a database can
    take them as they come.
    """

    def __init__(
        self, file_name: str, file: BinaryIO, limits: StoreLimits, file_format: FileFormat
    ) -> None:
        self._limits = limits
        self._file_name = file_name
        self._format = file_format
        self._raw = HashingReader(file_name, file)
        self._text = io.TextIOWrapper(
            io.BufferedReader(self._raw, CHUNK_BYTES),
            # A UTF-8 file may start with a byte order mark whether or not the sample saw it.
            encoding="utf-8-sig" if file_format.encoding == "utf-8" else file_format.encoding,
            errors="surrogateescape",
            newline="",
        )
        csv.field_size_limit(MAX_FIELD_BYTES)
        self._csv = csv.reader(
            self._text,
            delimiter=file_format.delimiter,
            quotechar=file_format.quote,
            strict=True,
        )
        self._inferrers: list[ColumnInferrer] = []
        self.rows = 0
        self._reported = 0
        self._non_ascii = False
        """Whether any text read so far was not ASCII (so it was UTF-8 indeed)."""

    def header(self) -> list[str]:
        row = self._next_row()
        if row is None:
            raise MalformedSource(self._file_name, "the file is empty; a header row is expected")
        if not any(cell.strip() for cell in row):
            raise MalformedSource(self._file_name, "the header row is blank", line=1)
        for position, cell in enumerate(row, 1):
            self._check_cell(cell, line=1, column=f"#{position}")
        comma = self._format.decimal_comma
        self._inferrers = [ColumnInferrer(self._limits, decimal_comma=comma) for _ in row]
        return row

    def chunks(self, names: list[str]) -> Iterator[bytes]:
        width = len(names)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        inferrers = self._inferrers
        pending: list[tuple[int, list[str]]] = []
        while (row := self._next_row()) is not None:
            if not row:
                continue
            if len(row) != width:
                self._wrong_width(row, names)
            self.rows += 1
            for inferrer, cell in zip(inferrers, row, strict=True):
                inferrer.observe(cell)
            writer.writerow((self.rows, *row))
            pending.append((self._csv.line_num, row))
            if buffer.tell() >= CHUNK_BYTES:
                yield self._encode(buffer, pending, names)
                pending.clear()
        if buffer.tell():
            yield self._encode(buffer, pending, names)

    def _encode(
        self, buffer: io.StringIO, pending: list[tuple[int, list[str]]], names: list[str]
    ) -> bytes:
        """The chunk as UTF-8. What PostgreSQL cannot store (bytes that were not UTF-8, NUL
        characters) is reported with its line and column."""
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        try:
            if "\x00" not in text:
                encoded = text.encode()
                self._non_ascii = self._non_ascii or len(encoded) != len(text)
                return encoded
        except UnicodeEncodeError as error:
            if (
                self._format.encoding == "utf-8"
                and not self._non_ascii
                and text[: error.start].isascii()
            ):
                raise EncodingMisjudged(self._raw.bytes_read) from None
        for line, row in pending:
            for name, cell in zip(names, row, strict=True):
                self._check_cell(cell, line=line, column=name)
        raise AssertionError("an unstorable chunk without an unstorable cell")

    def _check_cell(self, cell: str, *, line: int, column: str) -> None:
        if "\x00" in cell:
            raise MalformedSource(
                self._file_name,
                "contains a NUL character, which PostgreSQL cannot store",
                line=line,
                column=column,
            )
        try:
            cell.encode()
        except UnicodeEncodeError as error:
            raw = cell[error.start].encode("utf-8", "surrogateescape")
            raise MalformedSource(
                self._file_name,
                f"not {_encoding_name(self._format.encoding)} text (byte 0x{raw[0]:02x})",
                line=line,
                column=column,
            ) from None

    def inferred(self) -> list[InferredColumn]:
        return [inferrer.result() for inferrer in self._inferrers]

    def fingerprint(self) -> Fingerprint:
        return self._raw.fingerprint()

    def bytes_read_since_last_call(self) -> int:
        delta = self._raw.bytes_read - self._reported
        self._reported = self._raw.bytes_read
        return delta

    def _next_row(self) -> list[str] | None:
        try:
            return next(self._csv, None)
        except csv.Error as error:
            raise MalformedSource(
                self._file_name, f"not valid CSV ({error})", line=self._csv.line_num
            ) from None

    def _wrong_width(self, row: list[str], names: list[str]) -> None:
        width = len(names)
        column = names[len(row)] if len(row) < width else f"#{width + 1} (no such column)"
        raise MalformedSource(
            self._file_name,
            f"expected {width} fields as in the header, found {len(row)}",
            line=self._csv.line_num,
            column=column,
        )


class HashingReader(io.RawIOBase):
    """Hashes and counts the bytes of a file as they are read."""

    def __init__(self, file_name: str, file: BinaryIO) -> None:
        self._file_name = file_name
        self._file = file
        self._hash = hashlib.sha256()
        self.bytes_read = 0
        stat = os.fstat(file.fileno())
        self._stat = (stat.st_size, stat.st_mtime_ns)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count: int = self._file.readinto(buffer)  # type: ignore[attr-defined]
        if count:
            self._hash.update(memoryview(buffer)[:count])
            self.bytes_read += count
        return count

    def fingerprint(self) -> Fingerprint:
        size, mtime_ns = self._stat
        stat = os.fstat(self._file.fileno())
        if (stat.st_size, stat.st_mtime_ns) != (size, mtime_ns) or self.bytes_read != size:
            raise MalformedSource(self._file_name, "the file changed while it was being loaded")
        return Fingerprint(size=size, mtime_ns=mtime_ns, sha256=self._hash.hexdigest())


def _encoding_name(codec: str) -> str:
    """How people name an encoding: UTF-8, Windows-1251, Latin-1."""
    if codec.startswith("utf"):
        return codec.upper().replace("-SIG", "")
    if codec.startswith("cp125"):
        return f"Windows-{codec[2:]}"
    return {"latin_1": "Latin-1", "iso8859-1": "Latin-1"}.get(codec, codec)
