"""Real-world-shaped files (tests/data/csv/) load and serve right through the real loader and
`/logs`: every cell as an independent reading with Python's csv module says it is, in the
right order, with the format recorded in `/tables`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

CORPUS = Path(__file__).parents[2] / "data" / "csv"

Read = Callable[[str], object]
"""A cell as the independent reading reads it, as the API writes it in JSON."""


def text(cell: str) -> object:
    return cell if cell != "" else None


def integer(cell: str) -> object:
    return int(cell)


def decimal(cell: str) -> object:
    return Decimal(cell.replace(",", "."))


def yes_no(cell: str) -> object:
    return cell.lower() in {"yes", "true"}


def moment(layout: str) -> Read:
    return lambda cell: dt.datetime.strptime(cell, layout).isoformat()


def day(layout: str) -> Read:
    return lambda cell: dt.datetime.strptime(cell, layout).date().isoformat()


@dataclass(frozen=True)
class Expected:
    file: str
    encoding: str
    delimiter: str
    columns: dict[str, tuple[str, Read]]
    """API column name -> (type, how to read the file's cell)."""
    date_column: str | None = None


CASES = [
    Expected(
        "russian_excel_export.csv",
        "utf-8-sig",
        ";",
        {
            "Дата": ("date", day("%d.%m.%Y")),
            "Сумма, руб.": ("numeric", decimal),
            "Клиент": ("text", text),
            "Кол-во": ("bigint", integer),
            "Комментарий": ("text", text),
        },
        date_column="Дата",
    ),
    Expected(
        "cp1251_orders.csv",
        "cp1251",
        ";",
        {
            "Номер": ("bigint", integer),
            "Дата и время": ("timestamp", moment("%d.%m.%Y %H:%M")),
            "Товар": ("text", text),
            "Цена": ("numeric", decimal),
            "Покупатель": ("text", text),
        },
        date_column="Дата и время",
    ),
    Expected(
        "course_layout.csv",
        "utf-8",
        ",",
        {
            "sale_id": ("bigint", integer),
            "date": ("timestamp", moment("%d-%m-%y %H:%M")),
            "count_pizza": ("bigint", integer),
            "count_drink": ("bigint", integer),
            "price": ("bigint", integer),
            "user_id": ("text", text),
        },
        date_column="date",
    ),
    Expected(
        "50%off.csv",
        "utf-8",
        ",",
        {
            "item": ("text", text),
            "Tax 5%": ("numeric", decimal),
            "discount %": ("bigint", integer),
            "x%s": ("text", text),
            "rate%%": ("text", text),
            "{}": ("text", text),
            'say "hi"': ("bigint", integer),
            "back\\slash": ("text", text),
        },
    ),
    Expected(
        "pandas_to_csv.csv",
        "utf-8",
        ",",
        {
            "column_1": ("bigint", integer),
            "user_id": ("text", text),
            "visited_at": ("timestamp", moment("%Y-%m-%d %H:%M:%S")),
            "page": ("text", text),
        },
        date_column="visited_at",
    ),
    # Written in Latin-1, which reads as Windows-1252 does where the two agree (here
    # everywhere): the service names the code page Excel writes.
    Expected(
        "latin1_late_accents.csv",
        "cp1252",
        ";",
        {
            "id": ("bigint", integer),
            "name": ("text", text),
            "city": ("text", text),
            "amount": ("numeric", decimal),
        },
    ),
    Expected(
        "utf16_unicode_text.csv",
        "utf-16",
        "\t",
        {
            "date": ("date", day("%Y-%m-%d")),
            "user_id": ("text", text),
            "amount": ("numeric", decimal),
            "note": ("text", text),
        },
        date_column="date",
    ),
    Expected(
        "pipes_us_dates.csv",
        "utf-8",
        "|",
        {
            "order": ("bigint", integer),
            "placed": ("timestamp", moment("%m/%d/%Y %I:%M %p")),
            "total": ("numeric", decimal),
            "paid": ("boolean", yes_no),
        },
        date_column="placed",
    ),
]


def independent_rows(case: Expected) -> list[dict[str, object]]:
    """The file read with Python's csv module alone, in the order /logs promises: newest
    first by the date column, ties (and tables without dates) in reverse file order."""
    raw = (CORPUS / case.file).read_bytes().decode(case.encoding)
    records = list(csv.reader(io.StringIO(raw.removeprefix("\ufeff")), delimiter=case.delimiter))
    header, body = records[0], [row for row in records[1:] if row]
    names = list(case.columns)
    assert len(header) == len(names)
    rows = [
        {
            name: (read(cell) if cell != "" else None)
            for name, (_, read), cell in zip(names, case.columns.values(), row, strict=True)
        }
        for row in body
    ]
    keyed = list(enumerate(rows))
    if case.date_column is not None:
        date = case.date_column
        keyed.sort(key=lambda item: (item[1][date] is not None, item[1][date] or "", item[0]))
    return [row for _, row in reversed(keyed)]


def as_read(value: Any, kind: str) -> object:
    """A JSON value of the API, in the terms of the independent reading."""
    if value is None:
        return None
    if kind == "numeric":
        return Decimal(str(value))
    return value


async def every_row(client: AsyncTestClient[Litestar], table: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    params = {"table_name": table}
    while True:
        response = await client.get("/logs", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        rows.extend(body["rows"])
        if body["next_cursor"] is None:
            return rows
        params["cursor"] = body["next_cursor"]


@pytest.mark.parametrize("case", CASES, ids=[case.file for case in CASES])
async def test_a_real_world_file_serves_every_cell_as_written(
    client: AsyncTestClient[Litestar], seeded_data_dir: Path, case: Expected
) -> None:
    shutil.copy(CORPUS / case.file, seeded_data_dir / case.file)
    table = case.file.removesuffix(".csv")

    rows = await every_row(client, table)
    tables = {t["name"]: t for t in (await client.get("/tables")).json()["tables"]}

    described = tables[table]
    assert described["state"] == "loaded"
    assert [(c["name"], c["type"]) for c in described["columns"]] == [
        (name, kind) for name, (kind, _) in case.columns.items()
    ]
    assert (described["encoding"], described["delimiter"]) == (case.encoding, case.delimiter)
    assert described["date_column"] == case.date_column
    served = [
        {name: as_read(row[name], kind) for name, (kind, _) in case.columns.items()} for row in rows
    ]
    assert served == independent_rows(case)
