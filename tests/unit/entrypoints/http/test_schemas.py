"""Rows of logs are written the same whichever form a page keeps them in."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec

from domain.tables.logs import Records
from entrypoints.http.schemas import JSON_ENCODER, record_structs

NAMES = ["id", "Tax 5%", "%s", "{}", "a\\b", "Ёж 🍕", "f0"]
VALUES = [
    (1, Decimal("12.50"), "x", None, dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 13, 45), 7),
    (2, Decimal("1E+2"), "y", "z", None, None, None),
]


def test_records_encode_as_objects_keyed_by_column_in_column_order() -> None:
    as_values = JSON_ENCODER.encode(record_structs(Records(NAMES, VALUES)))
    as_dicts = JSON_ENCODER.encode(
        record_structs([dict(zip(NAMES, v, strict=True)) for v in VALUES])
    )

    assert as_values == as_dicts
    decoded = msgspec.json.decode(as_values)
    assert [list(row) for row in decoded] == [NAMES, NAMES]
    assert decoded[0]["Tax 5%"] == 12.5
    assert decoded[0]["Ёж 🍕"] == "2024-01-02T13:45:00"
    assert b'"Tax 5%":12.50' in as_values
