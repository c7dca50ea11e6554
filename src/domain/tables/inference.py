"""Inferring column types from the text of CSV cells, in one streaming pass.

Every cell of a column is shown to a `ColumnInferrer`, which keeps a few candidate flags and
narrows them down; at the end it names the most specific type that every non-blank cell fits.
The rules are the product's: integers with a leading zero or more than 18 digits are codes
(text), only ``true/false/yes/no`` are booleans, dates are read in the formats documented in
`TemporalFormat`, a column mixing formats is text. The raw text is later converted by the
store, so a value is only accepted for a type when the store accepts it too; what that is
(which whitespace it skips, how far a UTC offset may go, how big a number may be) the store's
adapter says in `StoreLimits`. Anything doubtful is text: inference never fails, and the
conversion afterwards must never fail either.

A cell with nothing but the store's whitespace is a missing value (NULL). Other spaces (a
no-break space, say) are part of the value, which then is text.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from domain.tables.model import Column, ColumnType

__all__ = [
    "ColumnInferrer",
    "InferredColumn",
    "StoreLimits",
    "TemporalFormat",
    "normalize_headers",
    "pick_date_column",
    "pick_user_column",
]


class TemporalFormat(StrEnum):
    """How the date part of a temporal column is written."""

    ISO = "iso"
    """``2018-01-18``, ``2018-01-18 10:00:24``, ``2018-01-18T10:00:24.123456+03:00``."""
    MONTH_FIRST = "month_first"
    """``1/18/2018``, ``01/18/2018 10:00``, ``1/18/2018 10:00:24 PM`` (US)."""
    DAY_FIRST = "day_first"
    """``18/01/2018``, ``18/01/2018 10:00:24``."""
    DAY_FIRST_DOTS = "day_first_dots"
    """``18.01.2018``, ``18.01.2018 10:00:24``."""

    @property
    def date_part(self) -> str | None:
        """The leading date part of a value in this format, as a regular expression whose
        three groups are its fields in order (Python's and PostgreSQL's regular expressions
        both read it); None for ISO, which every store reads as it is."""
        return _DATE_PARTS.get(self)

    @property
    def field_order(self) -> tuple[str, str, str] | None:
        """What the three groups of `date_part` hold: "day", "month", "year"."""
        return _FIELD_ORDERS.get(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class InferredColumn:
    type: ColumnType
    temporal_format: TemporalFormat | None = None
    """Set only when `type` is DATE, TIMESTAMP or TIMESTAMPTZ."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreLimits:
    """What the store of loaded tables accepts, as its adapter describes it."""

    whitespace: str
    """What the store's input functions skip around a value."""
    max_utc_offset_hours: int
    """The largest UTC offset, in whole hours, of a value with a time zone."""
    max_number_length: int
    """Characters of a decimal number beyond which it is text."""
    max_exponent: int
    """The largest exponent (either sign) of a decimal number in scientific notation."""
    edge_years: frozenset[str]
    """Years a date may not be in (written with four digits): values there could be carried
    out of range by a time zone or by rounding when read back."""
    identifier_bytes: int
    """The longest column name, in bytes of UTF-8."""


_MAX_INTEGER_DIGITS: Final = 18
"""Longer runs of digits are codes (cards, barcodes), and always fit a bigint when shorter."""

_BOOLEAN_WORDS: Final = frozenset({"true", "false", "yes", "no"})
_MANTISSA_START: Final = frozenset(".0123456789")

# Candidate flags, one bit each; a column's state is the set of candidates still possible.
_BOOLEAN: Final = 1
_BIGINT: Final = 2
_NUMERIC: Final = 4
_TEMPORAL: Final = 8
_NUMBERS: Final = _BIGINT | _NUMERIC
_ALL: Final = _BOOLEAN | _BIGINT | _NUMERIC | _TEMPORAL

# Temporal families: the first temporal value fixes the family of the column.
_NO_FAMILY: Final = 0
_ISO_FAMILY: Final = 1
_SLASH_FAMILY: Final = 2
_DOTS_FAMILY: Final = 3

_NUMBER_RE: Final = re.compile(r"(\d*)(?:\.(\d*))?(?:[eE][+-]?(\d+))?", re.ASCII)
"""Groups: integer digits, fraction digits (None without a point), exponent digits."""

_ISO_RE: Final = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"(?:[T ]([01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?"
    r"(Z| ?[+-](\d\d)(?::?[0-5]\d)?)?)?",
    re.ASCII,
)
"""Group 1 is the hour (the value has a time), group 2 the UTC offset (it is aware), group 3
the offset's hours, checked against the store's limit.

The hour 24 and leap seconds, which some stores accept (rolling them over), are refused:
such a value is text.
"""

_LOCAL_TIME: Final = r"(?: (\d{1,2}):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?: ?([AaPp][Mm]))?)?"
"""Group 1 of these is the hour, group 2 the AM/PM marker; validated in code."""
_SLASH_DATE: Final = r"(\d{1,2})/(\d{1,2})/(\d{4})"
_DOTS_DATE: Final = r"(\d{1,2})\.(\d{1,2})\.(\d{4})"
_SLASH_RE: Final = re.compile(_SLASH_DATE + _LOCAL_TIME, re.ASCII)
_DOTS_RE: Final = re.compile(_DOTS_DATE + _LOCAL_TIME, re.ASCII)
_DATE_PARTS: Final = {
    TemporalFormat.MONTH_FIRST: _SLASH_DATE,
    TemporalFormat.DAY_FIRST: _SLASH_DATE,
    TemporalFormat.DAY_FIRST_DOTS: _DOTS_DATE,
}
_FIELD_ORDERS: Final = {
    TemporalFormat.MONTH_FIRST: ("month", "day", "year"),
    TemporalFormat.DAY_FIRST: ("day", "month", "year"),
    TemporalFormat.DAY_FIRST_DOTS: ("day", "month", "year"),
}
_LOCAL_HOUR_GROUP: Final = 4
_MERIDIEM_GROUP: Final = 5
_ISO_HOUR_GROUP: Final = 1
_ISO_OFFSET_GROUP: Final = 2
_ISO_OFFSET_HOURS_GROUP: Final = 3

_DAYS_IN_MONTH: Final = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_real_date(year: int, month: int, day: int) -> bool:
    if not (1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month]) or year < 1:
        return False
    if month == 2 and day == 29:
        return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return True


class ColumnInferrer:
    """Watches the cells of one column and infers its type; O(1) memory, one pass.

    Preference, most specific first: BOOLEAN, BIGINT, NUMERIC, a temporal type, TEXT.
    """

    __slots__ = (
        "_aware",
        "_candidates",
        "_day_first",
        "_family",
        "_has_time",
        "_limits",
        "_month_first",
        "_naive",
    )

    def __init__(self, limits: StoreLimits) -> None:
        self._limits = limits
        self._candidates = _ALL
        """Types every non-blank value seen so far fits; `_ALL` until the first one, 0 = TEXT."""
        self._family = _NO_FAMILY
        self._has_time = False
        self._aware = False
        self._naive = False
        self._month_first = True
        self._day_first = True

    def observe(self, value: str) -> None:
        candidates = self._candidates
        if not candidates:
            return
        value = value.strip(self._limits.whitespace)
        if not value:
            return
        if candidates & _NUMBERS:
            unsigned = value[1:] if value[0] in "+-" else value
            if unsigned.isdigit() and unsigned.isascii():
                # An integer; a leading zero ("007") or more than 18 digits make it a code.
                if len(unsigned) > _MAX_INTEGER_DIGITS or (
                    unsigned[0] == "0" and len(unsigned) > 1
                ):
                    self._candidates = 0
                else:
                    self._candidates = candidates & _NUMBERS
                return
            if (
                unsigned
                and unsigned[0] in _MANTISSA_START
                and (kind := _number_kind(unsigned, self._limits))
            ):
                self._candidates = candidates & kind
                return
        if candidates & _BOOLEAN and len(value) <= 5 and value.lower() in _BOOLEAN_WORDS:
            self._candidates = _BOOLEAN
            return
        if candidates & _TEMPORAL and self._fits_temporal(value):
            self._candidates = _TEMPORAL
            return
        self._candidates = 0

    def result(self) -> InferredColumn:
        candidates = self._candidates
        if candidates == _ALL or not candidates:
            return InferredColumn(type=ColumnType.TEXT)
        if candidates & _BOOLEAN:
            return InferredColumn(type=ColumnType.BOOLEAN)
        if candidates & _BIGINT:
            return InferredColumn(type=ColumnType.BIGINT)
        if candidates & _NUMERIC:
            return InferredColumn(type=ColumnType.NUMERIC)
        if self._family == _ISO_FAMILY:
            temporal_format = TemporalFormat.ISO
        elif self._family == _DOTS_FAMILY:
            temporal_format = TemporalFormat.DAY_FIRST_DOTS
        elif self._month_first:
            temporal_format = TemporalFormat.MONTH_FIRST
        else:
            temporal_format = TemporalFormat.DAY_FIRST
        if self._aware:
            column_type = ColumnType.TIMESTAMPTZ
        elif self._has_time:
            column_type = ColumnType.TIMESTAMP
        else:
            column_type = ColumnType.DATE
        return InferredColumn(type=column_type, temporal_format=temporal_format)

    def _fits_temporal(self, value: str) -> bool:
        """Whether the value keeps the column temporal; a False leaves the column TEXT.

        May change the temporal state even when it answers False: the column is text then.
        """
        family = self._family
        if family == _NO_FAMILY:
            if len(value) >= 10 and value[4] == "-":
                family = _ISO_FAMILY
            elif "/" in value[1:3]:
                family = _SLASH_FAMILY
            elif "." in value[1:3]:
                family = _DOTS_FAMILY
            else:
                return False
            self._family = family
        if family == _ISO_FAMILY:
            return self._fits_iso(value)
        return self._fits_local(value, family)

    def _fits_iso(self, value: str) -> bool:
        if value[:4] in self._limits.edge_years:
            return False
        match = _ISO_RE.fullmatch(value)
        # The pattern bounds months to 01-12 and days to 01-31; check the rest of the calendar
        # only where it can matter: days after the 28th, and years before 1000 (0 is none).
        if match is None or (
            (value[8] == "3" or (value[8] == "2" and value[9] == "9") or value[0] == "0")
            and not _is_real_date(int(value[:4]), int(value[5:7]), int(value[8:10]))
        ):
            return False
        if match.lastindex == _ISO_OFFSET_GROUP:
            hours = match[_ISO_OFFSET_HOURS_GROUP]
            if hours is not None and int(hours) > self._limits.max_utc_offset_hours:
                return False
            self._aware = True
        else:
            self._naive = True
            if match.lastindex == _ISO_HOUR_GROUP:
                self._has_time = True
        return not (self._aware and self._naive)

    def _fits_local(self, value: str, family: int) -> bool:
        match = (_SLASH_RE if family == _SLASH_FAMILY else _DOTS_RE).fullmatch(value)
        if match is None:
            return False
        last = match.lastindex
        if last is not None and last >= _LOCAL_HOUR_GROUP:
            hour = int(match[_LOCAL_HOUR_GROUP])
            if last == _MERIDIEM_GROUP:
                if not 1 <= hour <= 12:
                    return False
            elif hour > 23:
                return False
            self._has_time = True
        first, second, year = int(match[1]), int(match[2]), int(match[3])
        if match[3] in self._limits.edge_years:
            return False
        if family == _DOTS_FAMILY:
            return _is_real_date(year, second, first)
        self._month_first = self._month_first and _is_real_date(year, first, second)
        self._day_first = self._day_first and _is_real_date(year, second, first)
        return self._month_first or self._day_first


def _number_kind(unsigned: str, limits: StoreLimits) -> int:
    """The candidates a number without its sign fits: BIGINT|NUMERIC, NUMERIC, or none (0)."""
    whole, point, fraction = unsigned.partition(".")
    exponent = None
    if not (point and (whole.isdigit() or not whole) and (fraction.isdigit() or not fraction)):
        match = _NUMBER_RE.fullmatch(unsigned)
        if match is None:
            return 0
        whole, fraction, exponent = match.groups()
    if (
        not unsigned.isascii()
        or (not whole and not fraction)  # no digits in the mantissa: ".", ".e5"
        or (len(whole) > 1 and whole[0] == "0")  # a meaningful leading zero: "007.5"
    ):
        return 0
    if fraction is None and exponent is None:
        return _NUMBERS if len(whole) <= _MAX_INTEGER_DIGITS else 0
    too_big = len(unsigned) > limits.max_number_length or (
        exponent is not None
        and (len(exponent) > len(str(limits.max_exponent)) or int(exponent) > limits.max_exponent)
    )
    return 0 if too_big else _NUMERIC


_CONTROL_CHARACTERS: Final = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)])
"""C0 and C1 control characters, NUL among them, for `str.translate` to remove."""


def normalize_headers(
    raw: Sequence[str], *, max_bytes: int, reserved: Collection[str] = ()
) -> tuple[str, ...]:
    """Column names for a CSV header row: unique, non-empty, at most `max_bytes` of UTF-8.

    Control characters are removed and whitespace (and a byte order mark on the first cell)
    stripped; an empty cell becomes ``column_N`` (N counts from 1). A name taken by an earlier
    column or found in `reserved` gets the first free suffix of ``_2``, ``_3``, ...; a name
    written in the header is never given to another column, so ``a, a, a_2`` gives
    ``a, a_3, a_2``, and a written name wins over a ``column_N`` placeholder.
    """
    names: list[str] = []
    written: list[bool] = []
    for position, cell in enumerate(raw, start=1):
        name = cell.translate(_CONTROL_CHARACTERS).strip()
        if position == 1:
            name = name.lstrip("\ufeff").strip()
        written.append(bool(name))
        names.append(_fit(name, max_bytes) if name else f"column_{position}")

    taken = set(reserved)
    kept = [False] * len(names)
    for keep_written in (True, False):
        for index, name in enumerate(names):
            if written[index] == keep_written and name not in taken:
                taken.add(name)
                kept[index] = True

    result: list[str] = []
    for index, name in enumerate(names):
        if kept[index]:
            result.append(name)
            continue
        number = 2
        while (renamed := _fit(name, max_bytes, suffix=f"_{number}")) in taken:
            number += 1
        taken.add(renamed)
        result.append(renamed)
    return tuple(result)


def _fit(name: str, max_bytes: int, *, suffix: str = "") -> str:
    """The name, cut on a character boundary so that name and suffix fit in `max_bytes`."""
    limit = max_bytes - len(suffix.encode())
    encoded = name.encode()
    if len(encoded) > limit:
        name = encoded[:limit].decode(errors="ignore").rstrip()
    return name + suffix


def pick_date_column(columns: Sequence[Column]) -> str | None:
    """The temporal column named ``date`` (in any case), else the first temporal column."""
    temporal = [column for column in columns if column.type.is_temporal]
    named = next((column for column in temporal if column.name.lower() == "date"), None)
    if named is not None:
        return named.name
    return temporal[0].name if temporal else None


def pick_user_column(columns: Sequence[Column]) -> str | None:
    """The column named ``user_id`` (in any case), whatever its type."""
    return next((column.name for column in columns if column.name.lower() == "user_id"), None)
