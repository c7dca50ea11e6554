"""Inferring PostgreSQL column types from the text of CSV cells, in one streaming pass.

Every cell of a column is shown to a `ColumnInferrer`, which keeps a few candidate flags and
narrows them down; at the end it names the most specific type that every non-blank cell fits.
The raw text is later converted by PostgreSQL itself, so a value is only accepted for a type
when PostgreSQL's input function for that type accepts it too (for the non-ISO date formats,
after the loader has rearranged the leading date part into ``Y-M-D``). Anything doubtful is
text: inference never fails, and the conversion afterwards must never fail either.

Whitespace means what PostgreSQL's input functions skip: ASCII space, tab, newline, carriage
return, vertical tab and form feed. Other Unicode spaces (a no-break space, say) are part of
the value, which then is text. A cell with nothing but that whitespace is a missing value,
and the loader must turn it into NULL before converting.

For the slash and dot formats the loader rewrites the leading ``D/M/YYYY``-like date part to
``YYYY-M-D`` (after trimming the whitespace) and casts the result; the rest of the value, an
optional time such as ``10:00:24.5 PM``, is already in a form PostgreSQL accepts.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from domain.model import MAX_IDENTIFIER_BYTES, Column, ColumnType

__all__ = [
    "ColumnInferrer",
    "InferredColumn",
    "TemporalFormat",
    "infer_column",
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


@dataclass(frozen=True, slots=True, kw_only=True)
class InferredColumn:
    type: ColumnType
    temporal_format: TemporalFormat | None = None
    """Set only when `type` is DATE, TIMESTAMP or TIMESTAMPTZ."""


_WHITESPACE: Final = " \t\n\r\v\f"
"""What PostgreSQL's input functions skip around a value (C ``isspace``)."""

_MAX_INTEGER_DIGITS: Final = 18
"""Longer runs of digits are codes (cards, barcodes), and always fit a bigint when shorter."""
_MAX_NUMERIC_LENGTH: Final = 1000
_MAX_NUMERIC_EXPONENT: Final = 1000
"""PostgreSQL accepts far more; these bounds keep every accepted value far from its limits."""

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
    r"(Z| ?[+-](?:0\d|1[0-5])(?::?[0-5]\d)?)?)?",
    re.ASCII,
)
"""Group 1 is the hour (the value has a time), group 2 the UTC offset (it is aware).

Offsets go up to 15:59, as far as PostgreSQL goes. The hour 24 and leap seconds, which
PostgreSQL accepts too (rolling them over), are refused: such a value is text.
"""

_LOCAL_TIME: Final = r"(?: (\d{1,2}):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?: ?([AaPp][Mm]))?)?"
"""Group 1 of these is the hour, group 2 the AM/PM marker; validated in code."""
_SLASH_RE: Final = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})" + _LOCAL_TIME, re.ASCII)
_DOTS_RE: Final = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})" + _LOCAL_TIME, re.ASCII)
_LOCAL_HOUR_GROUP: Final = 4
_MERIDIEM_GROUP: Final = 5
_ISO_HOUR_GROUP: Final = 1
_ISO_OFFSET_GROUP: Final = 2

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
        "_month_first",
        "_naive",
    )

    def __init__(self) -> None:
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
        value = value.strip(_WHITESPACE)
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
            if unsigned and unsigned[0] in _MANTISSA_START and (kind := _number_kind(unsigned)):
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
        if value[:4] in _EDGE_YEARS:
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
        if match[3] in _EDGE_YEARS:
            return False
        if family == _DOTS_FAMILY:
            return _is_real_date(year, second, first)
        self._month_first = self._month_first and _is_real_date(year, first, second)
        self._day_first = self._day_first and _is_real_date(year, second, first)
        return self._month_first or self._day_first


_EDGE_YEARS = frozenset({"0001", "9999"})
"""Years whose values a time zone or rounding can carry past what Python reads back (years 1
to 9999): such a column stays text rather than fail to load."""


def _number_kind(unsigned: str) -> int:
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
    too_big = len(unsigned) > _MAX_NUMERIC_LENGTH or (
        exponent is not None and (len(exponent) > 4 or int(exponent) > _MAX_NUMERIC_EXPONENT)
    )
    return 0 if too_big else _NUMERIC


def infer_column(values: Iterable[str]) -> InferredColumn:
    inferrer = ColumnInferrer()
    observe = inferrer.observe
    for value in values:
        observe(value)
    return inferrer.result()


_CONTROL_CHARACTERS: Final = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)])
"""C0 and C1 control characters, NUL among them, for `str.translate` to remove."""


def normalize_headers(raw: Sequence[str], *, reserved: Collection[str] = ()) -> tuple[str, ...]:
    """Column names for a CSV header row: unique, non-empty, at most 63 bytes of UTF-8.

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
        names.append(_fit(name) if name else f"column_{position}")

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
        while (renamed := _fit(name, suffix=f"_{number}")) in taken:
            number += 1
        taken.add(renamed)
        result.append(renamed)
    return tuple(result)


def _fit(name: str, *, suffix: str = "") -> str:
    """The name, cut on a character boundary so that name and suffix fit an identifier."""
    limit = MAX_IDENTIFIER_BYTES - len(suffix.encode())
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
