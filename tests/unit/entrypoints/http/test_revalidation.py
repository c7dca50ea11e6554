"""Reading If-None-Match, and the entity tags the API sends."""

from __future__ import annotations

from typing import Any, cast

import pytest
from litestar import Request
from litestar.types import HTTPScope

from entrypoints.http.revalidation import entity_tag, if_none_match, matches

TAG = entity_tag("logs", "sales", 3)


@pytest.mark.parametrize(
    "header",
    [TAG, f"W/{TAG}", f'"other", {TAG}', f' "other" ,W/{TAG} ', "*", " * "],
)
def test_a_copy_named_by_if_none_match_is_current(header: str) -> None:
    assert matches(header, TAG)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        '"other"',
        TAG.strip('"'),
        f'"{TAG}"',
        "W/",
        '"',
        "*, x",
        entity_tag("logs", "sales", 4),
    ],
)
def test_any_other_if_none_match_is_not(header: str | None) -> None:
    assert not matches(header, TAG)


def test_tags_are_strong_opaque_and_differ_with_any_part() -> None:
    again, longer, other_kind = (
        entity_tag("logs", "sales", 3),
        entity_tag("logs", "sales", 3, None),
        entity_tag("tables", "sales", 3),
    )

    assert TAG.startswith('"logs-')
    assert TAG.endswith('"')
    assert '"' not in TAG[1:-1]
    assert again == TAG
    assert longer != TAG
    assert other_kind != TAG


def request_with(*headers: tuple[bytes, bytes]) -> Request[Any, Any, Any]:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": list(headers)}
    return Request(cast("HTTPScope", scope))


def test_if_none_match_is_read_from_every_line_of_it() -> None:
    # Several lines of one field are one comma-separated list (RFC 9110, 5.3).
    request = request_with(
        (b"accept", b"*/*"), (b"if-none-match", b'"other"'), (b"If-None-Match", TAG.encode())
    )
    assert if_none_match(request) == f'"other", {TAG}'
    assert matches(if_none_match(request), TAG)


def test_no_if_none_match_is_none() -> None:
    assert if_none_match(request_with((b"etag", TAG.encode()))) is None
