"""Pages of logs: the query a request makes, its filters (dates, users, cursors) and the page."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import overload

from domain.shared.errors import InvalidParameter
from domain.tables.model import ColumnType, ReloadFailure, TableInfo

PAGE_SIZE = 100
"""Records in a page of logs: the brief's "100 latest records"."""
MAX_USER_ID_LENGTH = 256
_YEAR = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_MONTH_DAY = (
    "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    "|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
_LEAP_DAY = (
    "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29"
)
_TIME = "[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\\.[0-9]{1,6})?)?"
_ZONE = "(?:Z|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)"
FROM_DATE_PATTERN = f"^(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_DAY})(?:{_TIME}{_ZONE}?)?$"
"""What `from_date` accepts, exactly: an ISO 8601 calendar date, or a date-time to the
minute, second or microsecond, with an optional zone. Every string it matches is read."""
USER_ID_PATTERN = "^[^\\x00]+$"


Row = Mapping[str, object]
"""One record, keyed by column name; values are plain Python (int, Decimal, date, str, ...)."""


class Records(Sequence[Row]):
    """Rows kept as they are read, values in column order, and keyed by name only when one
    is looked at: a page is most often written out whole, straight from its values.

    Equal to any sequence of the same rows, whatever form that one keeps them in.
    """

    __slots__ = ("names", "values")

    def __init__(self, names: Sequence[str], values: Sequence[Sequence[object]]) -> None:
        self.names = tuple(names)
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, index: int) -> Row: ...
    @overload
    def __getitem__(self, index: slice) -> Records: ...
    def __getitem__(self, index: int | slice) -> Row | Records:
        if isinstance(index, slice):
            return Records(self.names, self.values[index])
        return dict(zip(self.names, self.values[index], strict=True))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Records({list(self)!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class LogCursor:
    """Where a page of logs stopped: the last row's date and its line in the source file."""

    date: dt.date | dt.datetime | None
    row: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LogQuery:
    from_date: dt.date | dt.datetime | None = None
    user_id: str | None = None
    after: LogCursor | None = None
    limit: int = PAGE_SIZE


@dataclass(frozen=True, slots=True, kw_only=True)
class LogPage:
    table: TableInfo
    query: LogQuery
    """What the page answers: with `table`'s version, all a page depends on (`page_identity`)."""
    rows: Sequence[Row]
    next_cursor: LogCursor | None
    reload_failure: ReloadFailure | None = None
    """Set when the table's current file failed to load: `table` is the previous version."""


_FROM_DATE_SHAPE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?",
    re.ASCII,
)
"""The shape of FROM_DATE_PATTERN without its calendar, to tell a wrong shape from a wrong day."""
_FROM_DATE = re.compile(FROM_DATE_PATTERN)


def page_identity(table: TableInfo, query: LogQuery) -> str:
    """Everything a page of logs depends on, as text: equal identities read equal pages.

    The table's loaded version is its number, the time it was loaded and its content hash,
    so that a catalog built again from nothing (numbering from 1) never meets pages of the one
    before; the query is taken as parsed (`from_date` as it is compared, the user, the cursor,
    the page size), so two spellings of one date are one page. A reload that changes a table
    changes its version, and so the identity of every page of it.

    Written as the `repr` of a tuple of text, numbers and None: unambiguous (each text is
    quoted and escaped), and a fifth of the cost of JSON on every request.
    """
    after = query.after
    return repr(
        (
            str(table.name),
            table.version,
            table.loaded_at.isoformat(),
            table.fingerprint.sha256,
            _iso(query.from_date),
            query.user_id,
            None if after is None else (_iso(after.date), after.row),
            query.limit,
        )
    )


def _iso(moment: dt.date | dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def parse_from_date(text: str) -> dt.date | dt.datetime:
    """An ISO 8601 date (`2022-03-01`) or date-time (`2022-03-01T12:30`, `...+03:00`, `...Z`)."""
    if not _FROM_DATE_SHAPE.fullmatch(text):
        raise InvalidParameter(
            "from_date",
            f"{text!r} is not an ISO 8601 date or date-time; "
            "use 2022-03-01 or 2022-03-01T12:30:00.",
        )
    try:
        if len(text) == len("2022-03-01"):
            value: dt.date | dt.datetime = dt.date.fromisoformat(text)
        else:
            value = dt.datetime.fromisoformat(text)
    except ValueError as error:
        raise InvalidParameter("from_date", f"{text!r} is not a valid date ({error}).") from None
    if not _FROM_DATE.fullmatch(text):
        raise InvalidParameter("from_date", f"{text!r} is not a valid date.")
    return value


def check_user_id(text: str) -> str:
    """A user id to filter on: 1 to 256 characters, no NUL."""
    if not text:
        raise InvalidParameter("user_id", "it is empty.")
    if "\x00" in text:
        raise InvalidParameter("user_id", "it contains a NUL character.")
    if len(text) > MAX_USER_ID_LENGTH:
        raise InvalidParameter("user_id", f"it is longer than {MAX_USER_ID_LENGTH} characters.")
    return text


def lower_bound(from_date: dt.date | dt.datetime, column_type: ColumnType) -> dt.date | dt.datetime:
    """The value a date column is compared with (`>=`) for a given `from_date`.

    A date means from the start of that day. A date-time without a zone is read as UTC for a
    column with zones, and as wall-clock time for one without. A date column keeps the
    records of the day a date-time falls on.
    """
    if column_type is ColumnType.DATE:
        return from_date.date() if isinstance(from_date, dt.datetime) else from_date
    moment = (
        from_date
        if isinstance(from_date, dt.datetime)
        else dt.datetime.combine(from_date, dt.time())
    )
    if column_type is ColumnType.TIMESTAMPTZ:
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    if moment.tzinfo:
        try:
            return moment.astimezone(dt.UTC).replace(tzinfo=None)
        except OverflowError:
            # In UTC it falls before the first or after the last moment there can be: it
            # keeps every record, or none.
            return dt.datetime.min if moment.year == dt.MINYEAR else dt.datetime.max
    return moment


def encode_cursor(cursor: LogCursor) -> str:
    date = cursor.date.isoformat() if cursor.date is not None else None
    payload = json.dumps([date, cursor.row], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(token: str, column_type: ColumnType | None) -> LogCursor:
    """Reads a cursor produced by encode_cursor for a table whose date column has `column_type`."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        date_text, row = json.loads(raw)
        if not isinstance(row, int) or isinstance(row, bool):
            raise TypeError("row is not an integer")
        if date_text is None or column_type is None:
            return LogCursor(date=None, row=row)
        if not isinstance(date_text, str):
            raise TypeError("date is not a string")
        if column_type is ColumnType.DATE:
            return LogCursor(date=dt.date.fromisoformat(date_text), row=row)
        return LogCursor(date=dt.datetime.fromisoformat(date_text), row=row)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise InvalidParameter(
            "cursor", "it is not a cursor returned by this endpoint for this table."
        ) from None
