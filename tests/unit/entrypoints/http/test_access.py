from __future__ import annotations

from typing import Any, cast

import pytest
from litestar.types import Scope

from entrypoints.http.access import target


def scope(raw_path: bytes, query: bytes = b"", path: str = "/") -> Scope:
    return cast(Scope, {"type": "http", "raw_path": raw_path, "path": path, "query_string": query})


def test_a_target_is_logged_as_the_client_sent_it() -> None:
    sent = scope(b"/logs", b"table_name=df_sales&user_id=a%20b", path="/logs")
    assert target(sent) == "/logs?table_name=df_sales&user_id=a%20b"
    assert target(scope(b"/tables", path="/tables")) == "/tables"


@pytest.mark.parametrize(
    ("raw", "query", "expected"),
    [
        (b"/logs\r\nINFO forged line", b"", "/logs\\r\\nINFO forged line"),
        (b"/logs", b"user_id=\x1b[31mred", "/logs?user_id=\\x1b[31mred"),
        (b"/caf\xc3\xa9", b"", "/caf\\xc3\\xa9"),
        (b"/a\\b", b"x=\x00", "/a\\\\b?x=\\x00"),
        (b"/logs", b'user_id=a" 200 0.1 ms', "/logs?user_id=a\\x22 200 0.1 ms"),
    ],
)
def test_what_is_not_printable_ascii_is_escaped(raw: bytes, query: bytes, expected: str) -> None:
    logged = target(scope(raw, query))
    assert logged == expected
    assert logged.isascii()
    assert logged.isprintable()


def test_without_a_raw_path_the_decoded_one_is_used() -> None:
    sent: dict[str, Any] = {"type": "http", "path": "/health", "query_string": b""}
    assert target(cast(Scope, sent)) == "/health"
