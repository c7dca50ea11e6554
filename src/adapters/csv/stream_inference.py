"""Type inference over a file's bytes as they stream to the database, about as fast as the
database parses them.

The direct way of loading (`adapters.postgres.loading.direct_copy`) sends a file's bytes to
PostgreSQL's COPY as they are, the table typed from its first records; `StreamInferrer`
checks, in a thread beside it, that every record agrees: the header's width, and values that
infer the same types. Records are checked in runs with one match of a regular expression: as
many as are plain (no line break in a field, fields quoted whole or not at all) and hold only
values that would change nothing their column's inferrer knows
(`ColumnInferrer.settled_pattern`). From the first record that is not, a short run is read
with Python's csv module and each cell observed, as the careful way reads a whole file; then
matching goes on. The first records are always read that way: they teach the inferrers what
is settled. Either way the result is what observing every cell gives.
"""

from __future__ import annotations

import codecs
import csv
import io
import queue
import re
from collections import deque
from typing import Final

from domain.tables.inference import ColumnInferrer, InferredColumn, StoreLimits
from domain.tables.model import FileFormat

OBSERVED_RUN: Final = 64 << 10
"""Characters of records read cell by cell where matching stops."""
MAX_PENDING_CHARACTERS: Final = 32 << 20
"""Text held while looking for the end of a record; a longer record is not checked."""


class Untrustworthy(Exception):
    """What the text holds cannot be checked the way the database reads it."""


class RecordInference:
    """Infers the column types of CSV text handed over in runs of whole records, the header
    first; `check` raises Untrustworthy (or csv.Error) on a blank line, a row of the wrong
    width or a malformed record."""

    def __init__(
        self, file_format: FileFormat, limits: StoreLimits, *, observed_run: int = OBSERVED_RUN
    ) -> None:
        self._format = file_format
        self._limits = limits
        self._observed_run = max(1, observed_run)
        self._inferrers: list[ColumnInferrer] = []
        self._patterns: tuple[str | None, ...] = ()
        self._records: re.Pattern[str] | None = None
        self.header: list[str] | None = None
        self.rows = 0

    def result(self) -> list[InferredColumn]:
        return [inferrer.result() for inferrer in self._inferrers]

    def check(self, text: str) -> None:
        """Infers from `text`, whole records (the last one's line break may be missing)."""
        if not text.endswith(("\n", "\r")):
            text += "\n"
        start = 0
        while start < len(text):
            records = self._settled_records()
            if records is not None:
                match = records.match(text, start)
                assert match is not None  # it matches nothing at least
                self.rows += text.count("\n", start, match.end())
                start = match.end()
                if start == len(text):
                    return
            stop = self._run_end(text, start)
            self._observe(text[start:stop])
            start = stop

    def _run_end(self, text: str, start: int) -> int:
        """The end of the last whole record from `start` within `observed_run` characters,
        or within twice, four times as many... when a record is longer; at most the end of
        `text`."""
        window = self._observed_run
        while start + window < len(text):
            end = records_end(text[start : start + window], self._format.quote)
            if end:
                return start + end
            window *= 2
        return len(text)

    def _observe(self, text: str) -> None:
        reader = csv.reader(
            io.StringIO(text, newline=""),
            delimiter=self._format.delimiter,
            quotechar=self._format.quote,
            strict=True,
        )
        rows = list(reader)
        if self.header is None:
            if not rows:
                raise Untrustworthy
            self.header = rows.pop(0)
            comma = self._format.decimal_comma
            self._inferrers = [
                ColumnInferrer(self._limits, decimal_comma=comma) for _ in self.header
            ]
        if any(map(len(self.header).__ne__, map(len, rows))):
            # A blank line (which csv skips and COPY does not) or a row of the wrong width.
            raise Untrustworthy
        for inferrer, column in zip(self._inferrers, zip(*rows, strict=True), strict=False):
            deque(map(inferrer.observe, column), maxlen=0)
        self.rows += len(rows)

    def _settled_records(self) -> re.Pattern[str] | None:
        """A regular expression of plain records every cell of which its column's inferrer
        would observe without a change; None when a column offers no pattern."""
        if self.header is None:
            return None
        delimiter, quote = self._format.delimiter, self._format.quote
        forbidden = f"{delimiter}{quote}\r\n"
        patterns = tuple(
            "" if inferrer.decided else inferrer.settled_pattern(forbidden=forbidden)
            for inferrer in self._inferrers
        )
        if patterns != self._patterns:
            self._patterns = patterns
            self._records = _records_pattern(patterns, delimiter, quote)
        return self._records


def _records_pattern(
    patterns: tuple[str | None, ...], delimiter: str, quote: str
) -> re.Pattern[str] | None:
    """Records of the fields `patterns` describe ("" for any text, None for no pattern)."""
    d, q = re.escape(delimiter), re.escape(quote)
    fields = []
    for pattern in patterns:
        if pattern == "":
            # Any text: unquoted, or quoted whole with its quotes doubled; no line break.
            fields.append(f"[^{d}{q}\r\n]*+|{q}(?:[^{q}\r\n]|{q}{q})*+{q}")
        elif pattern is None:
            return None
        else:
            fields.append(f"{q}(?:{pattern}){q}|(?:{pattern})")
    record = d.join(f"(?:{field})" for field in fields)
    # A record is not blank: csv skips blank lines where COPY reads them.
    return re.compile(f"(?:(?>(?![\r\n]){record}\r?\n))*+")


def records_end(text: str, quote: str) -> int:
    """Where the last whole record of `text` ends (0: none): after a line break that an even
    number of quote characters precedes, so that it is outside any quoted field. A CR at the
    very end may be the first half of a CRLF, so it is not an end yet."""
    end = len(text)
    quotes = text.count(quote)
    while True:
        line_end = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end))
        if line_end < 0:
            return 0
        quotes -= text.count(quote, line_end, end)
        if text[line_end] == "\r" and text[line_end + 1 : line_end + 2] in ("\n", ""):
            end = line_end
            continue
        if quotes % 2 == 0:
            return line_end + 1
        end = line_end


def head_types(
    head: bytes, file_format: FileFormat, limits: StoreLimits, *, whole_file: bool
) -> tuple[list[str], list[InferredColumn]]:
    """The header of a file whose first bytes are `head`, and the column types its whole
    records infer (the last may be cut short unless `head` is the `whole_file`); nothing when
    they are not plain CSV of the header's width."""
    text = codecs.decode(head, _codec(file_format), errors="replace")
    inference = RecordInference(file_format, limits)
    try:
        inference.check(text if whole_file else text[: records_end(text, file_format.quote)])
    except (csv.Error, Untrustworthy):
        return [], []
    return inference.header or [], inference.result()


class StreamInferrer:
    """Infers the column types of a file whose bytes are handed over in chunks, as they are
    sent elsewhere (to a database's COPY): `feed` from one thread, `run` in another.

    It checks what the database cannot be trusted to check the same way: that every record has
    the header's width, and how many records there are (csv's reading of blank lines and
    quotes differs from other readers'); anything off makes `trustworthy` False.
    """

    def __init__(
        self,
        file_format: FileFormat,
        limits: StoreLimits,
        *,
        backlog: int = 8,
        observed_run: int = OBSERVED_RUN,
    ) -> None:
        self._format = file_format
        self._inference = RecordInference(file_format, limits, observed_run=observed_run)
        self._chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=backlog)
        self._ended = False
        self.inferred: list[InferredColumn] = []
        self.rows = 0
        self.trustworthy = True

    def feed(self, chunk: bytes) -> None:
        self._chunks.put(chunk)

    def close(self) -> None:
        self._chunks.put(None)

    def run(self) -> None:
        try:
            self._infer()
        except (csv.Error, UnicodeError, Untrustworthy):
            self.trustworthy = False
        finally:
            # Whatever happened, drain what is still fed so that the feeder never blocks.
            while not self._ended:
                self._next_chunk()

    def _next_chunk(self) -> bytes | None:
        chunk = self._chunks.get()
        self._ended = chunk is None
        return chunk

    def _infer(self) -> None:
        decoder = codecs.getincrementaldecoder(_codec(self._format))(errors="surrogateescape")
        inference = self._inference
        pending = ""
        while not self._ended:
            chunk = self._next_chunk()
            pending += decoder.decode(chunk or b"", final=chunk is None)
            cut = len(pending) if chunk is None else records_end(pending, self._format.quote)
            if cut:
                inference.check(pending[:cut])
                pending = pending[cut:]
            elif len(pending) > MAX_PENDING_CHARACTERS:
                raise Untrustworthy
        if inference.header is None:
            raise Untrustworthy
        self.rows = inference.rows
        self.inferred = inference.result()


def _codec(file_format: FileFormat) -> str:
    # A UTF-8 file may start with a byte order mark.
    return "utf-8-sig" if file_format.encoding == "utf-8" else file_format.encoding
