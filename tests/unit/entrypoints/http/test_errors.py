from __future__ import annotations

import pytest

from entrypoints.http.errors import scrubbed


@pytest.mark.parametrize(
    "detail",
    [
        'connection to server at "127.0.0.1", port 5432 failed: Connection refused',
        'connection to server at "::1", port 5432 failed',
        "Error 111 connecting to redis:6379. Connection refused.",
        "Error connecting to [2001:db8::1]:6379",
        "cannot connect to postgresql://app:secret@db.internal:5432/prod",
        "redis://:pw@cache.example.com/0 refused",
        "host=db.internal port=5432 dbname=prod",
        'connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed',
        "the broker at broker.internal:5672 is unreachable",
    ],
)
def test_internal_addresses_are_scrubbed_from_details(detail: str) -> None:
    clean = scrubbed(detail)
    for secret in ("127.0.0.1", "::1", "6379", "5432", "5672", "secret", "db.internal", "2001"):
        assert secret not in clean, clean
    assert "[address]" in clean


@pytest.mark.parametrize(
    "detail",
    [
        "Invalid from_date: '2023-06-01T18:00:00+03:00' is not a date",
        "df_sales.csv, line 12, column 'price': not a number",
        "There is no table named 'x'. Known tables: df_sales, df_sales_detail.",
        "Too many jobs are queued or running (100 of 100); retry after 5 s.",
    ],
)
def test_ordinary_details_are_left_as_they_are(detail: str) -> None:
    assert scrubbed(detail) == detail
