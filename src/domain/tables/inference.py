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
from typing import ClassVar, Final

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


@dataclass(frozen=True, slots=True)
class TemporalFormat:
    """How the date part of a temporal column is written: the order of its fields, the
    separator between them, and how many digits the year has.

    ISO (``2018-01-18``, ``2018-01-18 10:00:24``, ``2018-01-18T10:00:24.123456+03:00``) is
    read as it is. The others carry an optional time (``10:00``, ``10:00:24.5``,
    ``10:00:24 PM``): ``1/18/2018`` (month first, US), ``18/01/2018``, ``18.01.2018``,
    ``18-01-2018``, and each with a two-digit year (``18-01-22 13:45``, as the course's
    original files write it). A two-digit year ``YY`` is 20YY when below
    `TWO_DIGIT_YEAR_PIVOT`, else 19YY.
    """

    order: str
    """The fields in order: "ymd", "mdy" or "dmy"."""
    separator: str
    year_digits: int

    ISO: ClassVar[TemporalFormat]
    MONTH_FIRST: ClassVar[TemporalFormat]
    DAY_FIRST: ClassVar[TemporalFormat]
    DAY_FIRST_DOTS: ClassVar[TemporalFormat]
    DAY_FIRST_DASHES: ClassVar[TemporalFormat]

    @property
    def is_iso(self) -> bool:
        return self.order == "ymd"

    @property
    def date_part(self) -> str | None:
        """The leading date part of a value in this format, as a regular expression whose
        three groups are its fields in order (Python's and PostgreSQL's regular expressions
        both read it); None for ISO, which every store reads as it is."""
        if self.is_iso:
            return None
        return _local_date_part(self.separator, self.year_digits)

    @property
    def field_order(self) -> tuple[str, str, str] | None:
        """What the three groups of `date_part` hold: "day", "month", "year"."""
        if self.is_iso:
            return None
        names = {"d": "day", "m": "month", "y": "year"}
        first, second, third = (names[field] for field in self.order)
        return first, second, third

    def with_year_digits(self, digits: int) -> TemporalFormat:
        return TemporalFormat(self.order, self.separator, digits)


TemporalFormat.ISO = TemporalFormat("ymd", "-", 4)
TemporalFormat.MONTH_FIRST = TemporalFormat("mdy", "/", 4)
TemporalFormat.DAY_FIRST = TemporalFormat("dmy", "/", 4)
TemporalFormat.DAY_FIRST_DOTS = TemporalFormat("dmy", ".", 4)
TemporalFormat.DAY_FIRST_DASHES = TemporalFormat("dmy", "-", 4)

TWO_DIGIT_YEAR_PIVOT: Final = 70
"""Two-digit years below this are in the 2000s (``22`` is 2022), the others in the 1900s
(``85`` is 1985): the rule PostgreSQL applies, nearest to the year 2020."""


def full_year(two_digits: int) -> int:
    """The year a two-digit year stands for."""
    return (2000 if two_digits < TWO_DIGIT_YEAR_PIVOT else 1900) + two_digits


def _local_date_part(separator: str, year_digits: int) -> str:
    sep = re.escape(separator)
    return rf"(\d{{1,2}}){sep}(\d{{1,2}}){sep}(\d{{{year_digits}}})"


@dataclass(frozen=True, slots=True, kw_only=True)
class InferredColumn:
    type: ColumnType
    temporal_format: TemporalFormat | None = None
    """Set only when `type` is DATE, TIMESTAMP or TIMESTAMPTZ."""
    decimal_comma: bool = False
    """A NUMERIC column whose values write their fraction after a comma (``1234,50``)."""


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
_COMMA_MANTISSA_START: Final = frozenset(",.0123456789")

# Candidate flags, one bit each; a column's state is the set of candidates still possible.
_BOOLEAN: Final = 1
_BIGINT: Final = 2
_NUMERIC: Final = 4
_TEMPORAL: Final = 8
_NUMBERS: Final = _BIGINT | _NUMERIC
_ALL: Final = _BOOLEAN | _BIGINT | _NUMERIC | _TEMPORAL

_LOCAL_SEPARATORS: Final = "/.-"
"""Separators of the local date formats; the first temporal value fixes the column's."""

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
"""Group 4 of a local value is the hour, group 5 the AM/PM marker; validated in code."""
_LOCAL_RE: Final = {
    (separator, digits): re.compile(_local_date_part(separator, digits) + _LOCAL_TIME, re.ASCII)
    for separator in _LOCAL_SEPARATORS
    for digits in (2, 4)
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

    Preference, most specific first: BOOLEAN, BIGINT, NUMERIC, a temporal type, TEXT. With
    `decimal_comma` (a file whose delimiter is not a comma), ``1234,50`` is a number too; a
    column writes all its fractions one way.
    """

    __slots__ = (
        "_aware",
        "_candidates",
        "_day_first",
        "_decimal_comma",
        "_decimal_mark",
        "_has_time",
        "_limits",
        "_month_first",
        "_naive",
        "_separator",
        "_year_digits",
    )

    def __init__(self, limits: StoreLimits, *, decimal_comma: bool = False) -> None:
        self._limits = limits
        self._decimal_comma = decimal_comma
        self._candidates = _ALL
        """Types every non-blank value seen so far fits; `_ALL` until the first one, 0 = TEXT."""
        self._decimal_mark = ""
        """The fractions seen so far are written with this: "", "." or ","."""
        self._separator = ""
        """The temporal family: "" until the first temporal value, "iso", or a separator."""
        self._year_digits = 0
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
            starts = _MANTISSA_START if not self._decimal_comma else _COMMA_MANTISSA_START
            if unsigned and unsigned[0] in starts and (kind := self._number(unsigned)):
                self._candidates = candidates & kind
                return
        if candidates & _BOOLEAN and len(value) <= 5 and value.lower() in _BOOLEAN_WORDS:
            self._candidates = _BOOLEAN
            return
        if candidates & _TEMPORAL and self._fits_temporal(value):
            self._candidates = _TEMPORAL
            return
        self._candidates = 0

    @property
    def decided(self) -> bool:
        """Whether the column is text already: no value can change what it infers."""
        return not self._candidates

    def settled_pattern(self, *, forbidden: str = "") -> str | None:
        """A regular expression of values whose observation would leave this inferrer just as
        it is, none with a character of `forbidden`; None when it has none to offer.

        It lets a reader check a whole batch of cells with one match instead of a call of
        `observe` a cell (a batch that matches changes nothing), and observe them one by one
        only when it does not. The values it matches are a part of the values that change
        nothing, never more: a blank, and values of the type inferred so far in its plainest
        form (an integer; a decimal with the fraction mark seen so far; an ISO date of a real
        day but February 29th, with a time when the column has one, with an offset when it
        is aware). It names characters by their code, so any flags read it alike.
        """
        candidates = self._candidates
        if not candidates:
            return f"[^{re.escape(forbidden)}]*" if forbidden else "(?s:.*)"
        settled = self._settled_value(candidates)
        if settled is None or not set(forbidden).isdisjoint(settled[1]):
            return None
        value = settled[0]
        blank = "".join(c for c in self._limits.whitespace if c not in forbidden)
        space = f"[{re.escape(blank)}]*" if blank else ""
        return space if not value else f"{space}(?:(?:{value}){space})?"

    def _settled_value(self, candidates: int) -> tuple[str, str] | None:
        """The non-blank values of `settled_pattern` without the whitespace around them ("" for
        none), and every character they may hold; None when there is no pattern."""
        if candidates == _ALL:
            return "", ""
        if candidates == _BOOLEAN:
            words = sorted(_BOOLEAN_WORDS)
            pattern = "|".join("".join(f"[{c.upper()}{c}]" for c in word) for word in words)
            letters = "".join(words)
            return pattern, letters + letters.upper()
        if candidates == _NUMBERS or (candidates == _NUMERIC and not self._decimal_mark):
            return _SETTLED_INTEGER, _INTEGER_CHARACTERS
        if candidates == _NUMERIC:
            digits = min(99, (self._limits.max_number_length - 2) // 2)
            if digits < 1:
                return _SETTLED_INTEGER, _INTEGER_CHARACTERS
            mark = re.escape(self._decimal_mark)
            decimal = (
                f"[+-]?(?:(?:0|[1-9][0-9]{{0,{digits}}}){mark}[0-9]{{0,{digits}}}"
                f"|{mark}[0-9]{{1,{digits}}})"
            )
            return f"{_SETTLED_INTEGER}|{decimal}", _INTEGER_CHARACTERS + self._decimal_mark
        if candidates == _TEMPORAL and self._separator == "iso":
            return self._settled_iso(), _ISO_CHARACTERS
        return None

    def _settled_iso(self) -> str:
        edge = "|".join(sorted(self._limits.edge_years))
        year = f"(?!{edge})[1-9][0-9]{{3}}" if edge else "[1-9][0-9]{3}"
        date = f"{year}-{_SETTLED_MONTH_DAY}"
        if self._aware:
            most = min(self._limits.max_utc_offset_hours, 99)
            hours = "|".join(f"{hour:02d}" for hour in range(most + 1))
            return f"{date}{_SETTLED_TIME}(?:Z| ?[+-](?:{hours})(?::?[0-5][0-9])?)"
        return f"{date}(?:{_SETTLED_TIME})?" if self._has_time else date

    def result(self) -> InferredColumn:
        candidates = self._candidates
        if candidates == _ALL or not candidates:
            return InferredColumn(type=ColumnType.TEXT)
        if candidates & _BOOLEAN:
            return InferredColumn(type=ColumnType.BOOLEAN)
        if candidates & _BIGINT:
            return InferredColumn(type=ColumnType.BIGINT)
        if candidates & _NUMERIC:
            return InferredColumn(type=ColumnType.NUMERIC, decimal_comma=self._decimal_mark == ",")
        if self._aware:
            column_type = ColumnType.TIMESTAMPTZ
        elif self._has_time:
            column_type = ColumnType.TIMESTAMP
        else:
            column_type = ColumnType.DATE
        return InferredColumn(type=column_type, temporal_format=self._temporal_format())

    def _temporal_format(self) -> TemporalFormat:
        separator = self._separator
        if separator == "iso":
            return TemporalFormat.ISO
        # Slashes read month first (US) unless a value only fits day first; dots and dashes
        # read day first unless a value only fits month first.
        if separator == "/":
            order = "mdy" if self._month_first else "dmy"
        else:
            order = "dmy" if self._day_first else "mdy"
        return TemporalFormat(order, separator, self._year_digits)

    def _number(self, unsigned: str) -> int:
        """The candidates a number without its sign fits (0: none), with its decimal mark."""
        mark = "," if "," in unsigned else "." if "." in unsigned else ""
        if mark == ",":
            if not self._decimal_comma or "." in unsigned:
                return 0
            unsigned = unsigned.replace(",", ".", 1)
        kind = _number_kind(unsigned, self._limits)
        if kind and mark:
            if self._decimal_mark and self._decimal_mark != mark:
                return 0
            self._decimal_mark = mark
        return _NUMERIC if kind and mark == "," else kind

    def _fits_temporal(self, value: str) -> bool:
        """Whether the value keeps the column temporal; a False leaves the column TEXT.

        May change the temporal state even when it answers False: the column is text then.
        """
        separator = self._separator
        if not separator:
            if len(value) >= 10 and value[4] == "-":
                separator = "iso"
            else:
                separator = next((s for s in _LOCAL_SEPARATORS if s in value[1:3]), "")
                if not separator:
                    return False
                year_part = _DATE_HEAD.match(value)
                self._year_digits = len(year_part[1]) if year_part else 4
                if separator == ".":
                    self._month_first = False
            self._separator = separator
        if separator == "iso":
            return self._fits_iso(value)
        return self._fits_local(value, separator)

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

    def _fits_local(self, value: str, separator: str) -> bool:
        match = _LOCAL_RE[separator, self._year_digits].fullmatch(value)
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
        first, second, year_text = int(match[1]), int(match[2]), match[3]
        if self._year_digits == 4:
            if year_text in self._limits.edge_years:
                return False
            year = int(year_text)
        else:
            year = full_year(int(year_text))
        self._month_first = self._month_first and _is_real_date(year, first, second)
        self._day_first = self._day_first and _is_real_date(year, second, first)
        return self._month_first or self._day_first


_INTEGER_CHARACTERS: Final = "0123456789+-"
_ISO_CHARACTERS: Final = "0123456789-:T .Z+"
_SETTLED_INTEGER: Final = "[+-]?(?:0|[1-9][0-9]{0,17})"
_SETTLED_MONTH_DAY: Final = (
    "(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    "|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
)
"""A real day of any year, February 29th aside."""
_SETTLED_TIME: Final = "[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.][0-9]{1,9})?)?"

_DATE_HEAD: Final = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-](\d{4}|\d{2})(?!\d)", re.ASCII)
"""The year of a local date's first value, which fixes how many digits the column's have."""


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
