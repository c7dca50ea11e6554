"""The regular expressions the OpenAPI document gives clients say exactly what the domain
accepts: everything they match is read, everything else is refused."""

from __future__ import annotations

import re
from collections.abc import Callable

from hypothesis import example, given
from hypothesis import strategies as st

from domain.shared.errors import InvalidParameter
from domain.tables.errors import InvalidTableName
from domain.tables.logs import FROM_DATE_PATTERN, USER_ID_PATTERN, check_user_id, parse_from_date
from domain.tables.model import TABLE_NAME_PATTERN, TableName


def accepted(check: Callable[[str], object], value: str) -> bool:
    try:
        check(value)
    except (InvalidTableName, InvalidParameter):
        return False
    return True


@given(st.text())
@example("")
@example(".x")
@example("a/b")
@example("a\\b")
@example("a\x00")
@example(" ")
def test_the_table_name_pattern_is_the_table_name_rules(text: str) -> None:
    assert accepted(TableName, text) == bool(re.fullmatch(TABLE_NAME_PATTERN, text))


@given(st.from_regex(FROM_DATE_PATTERN, fullmatch=True))
def test_every_from_date_the_pattern_allows_is_read(text: str) -> None:
    parse_from_date(text)


@given(st.text(alphabet="0123456789-:T +Z.", max_size=32))
@example("2023-02-29")
@example("2024-02-29")
@example("2023-06-01T24:00")
@example("0000-01-01")
def test_a_from_date_is_read_exactly_when_the_pattern_matches(text: str) -> None:
    assert accepted(parse_from_date, text) == bool(re.fullmatch(FROM_DATE_PATTERN, text))


@given(st.text(max_size=300))
def test_the_user_id_pattern_and_length_are_the_user_id_rules(text: str) -> None:
    matches = bool(re.fullmatch(USER_ID_PATTERN, text)) and len(text) <= 256
    assert accepted(check_user_id, text) == matches
