"""Property-based tests through the real loader and the real `/logs`: generated files load
and serve exactly the cells written, in the right order, and no generated input is a 5xx.

Generated: file names (with `%`, braces, quotes, spaces, other scripts), headers (duplicates,
blanks, `%` and braces, longer than an identifier), cells of every type inference knows,
delimiters and quoting, and encodings (UTF-8 with and without a byte order mark, UTF-16, and
Windows-1251 and -1252 for text in the languages that write them).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import string
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.postgres.types import IDENTIFIER_BYTES
from domain.tables.inference import normalize_headers

EXAMPLES = 60
RUSSIAN = ["пицца", "заказ", "Москва", "оплата", "доставка", "ёлка", "сыр Гауда", "напиток"]
WESTERN = ["café", "élève", "déjà vu", "français", "garçon", "hôtel", "forêt", "très bien"]

_counter = itertools.count()


@dataclass(frozen=True)
class Column:
    header: str
    kind: str
    cells: list[str]
    """As written in the file; "" is a blank cell."""


@dataclass(frozen=True)
class CsvFile:
    stem: str
    columns: list[Column]
    delimiter: str
    quoting: Literal[0, 1]
    encoding: str

    def payload(self) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(
            buffer, delimiter=self.delimiter, quoting=self.quoting, lineterminator="\r\n"
        )
        writer.writerow([column.header for column in self.columns])
        writer.writerows(zip(*(column.cells for column in self.columns), strict=True))
        return buffer.getvalue().encode(self.encoding)


def words(encoding: str) -> st.SearchStrategy[str]:
    if encoding == "cp1251":
        return st.sampled_from(RUSSIAN)
    if encoding == "cp1252":
        return st.sampled_from(WESTERN)
    return st.text(
        st.characters(exclude_categories=["Cs", "Cc"]) | st.sampled_from(",;|\t\"'%{}\\\n"),
        max_size=12,
    )


def cells(kind: str, encoding: str) -> st.SearchStrategy[str]:
    """One non-blank cell of a column of that kind, written as a file would write it."""
    if kind == "bigint":
        return st.integers(-(10**17), 10**17).map(str)
    if kind == "numeric":
        return st.decimals(
            min_value=-(10**9), max_value=10**9, places=3, allow_nan=False, allow_infinity=False
        ).map(lambda d: f"{d:.3f}")
    if kind == "boolean":
        return st.sampled_from(["true", "false", "TRUE", "No", "yes"])
    if kind == "date":
        return st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)).map(dt.date.isoformat)
    if kind == "timestamp":
        return st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 1, 1)).map(
            lambda m: m.replace(microsecond=0).isoformat(sep=" ")
        )
    if encoding in {"cp1251", "cp1252"}:
        return words(encoding)
    # Text: a letter first, so that no run of digits makes it a number.
    return st.builds(lambda w: "t" + w, words(encoding))


@st.composite
def csv_files(draw: st.DrawFn) -> CsvFile:
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1251", "cp1252"]))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    legacy = encoding in {"cp1251", "cp1252"}
    # A single-byte code page is told from how its text reads: give it some text.
    rows = draw(st.integers(6 if legacy else 1, 12))
    width = draw(st.integers(1, 5))
    columns = (
        []
        if not legacy
        else [
            Column(
                "note",
                "text",
                draw(st.lists(cells("text", encoding), min_size=rows, max_size=rows)),
            )
        ]
    )
    for _ in range(width):
        kind = draw(st.sampled_from(["bigint", "numeric", "boolean", "date", "timestamp", "text"]))
        values = draw(st.lists(cells(kind, encoding) | st.just(""), min_size=rows, max_size=rows))
        if kind != "text" and not any(values):
            values[0] = draw(cells(kind, encoding))
        # A file of one column does not tell its delimiter, and so not its decimal mark.
        if kind == "numeric" and delimiter != "," and width > 1 and draw(st.booleans()):
            values = [value.replace(".", ",") for value in values]
        header = draw(
            words(encoding)
            if legacy
            else st.one_of(
                st.text(
                    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
                    max_size=20,
                ),
                st.sampled_from(["Tax 5%", "rate%%", "x%s", "{}", "%(name)s", ""]),
                st.just("é" * 40),
            )
        )
        columns.append(Column(header=header, kind=kind, cells=values))
    if not any(column.header.strip() for column in columns):
        # A header row of nothing but blanks is a malformed file, tested elsewhere.
        columns[0] = Column(header="h", kind=columns[0].kind, cells=columns[0].cells)
    stem_text = st.text(
        st.characters(exclude_characters="/\\\x00", exclude_categories=["Cs", "Cc"]),
        min_size=1,
        max_size=24,
    ).filter(lambda s: not s.startswith(".") and len(s.encode()) < 180)
    stem = f"{draw(stem_text)}-{next(_counter)}"
    quoting: Literal[0, 1] = draw(st.sampled_from([0, 1]))  # csv.QUOTE_MINIMAL, QUOTE_ALL
    return CsvFile(stem, columns, delimiter, quoting, encoding)


def served(cell: str, kind: str) -> object:
    """What /logs must answer for a written cell (JSON, numbers as Decimal)."""
    value = cell.strip(" \t\n\r\v\f") if kind != "text" else cell
    if value == "":
        return None
    if kind == "bigint":
        return int(value)
    if kind == "numeric":
        return Decimal(value.replace(",", "."))
    if kind == "boolean":
        return value.lower() in {"true", "yes"}
    if kind == "timestamp":
        return dt.datetime.fromisoformat(value).isoformat()
    return value


async def all_rows(client: AsyncTestClient[Litestar], table: str) -> tuple[list[Any], Any]:
    rows: list[Any] = []
    params = {"table_name": table}
    while True:
        response = await client.get("/logs", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        rows.extend(body["rows"])
        if body["next_cursor"] is None:
            return rows, body
        params["cursor"] = body["next_cursor"]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(file=csv_files())
@example(
    file=CsvFile(
        "50%off {x} 'q'",
        [Column("Tax 5%", "numeric", ["1,50", "2,25"]), Column("rate%%", "text", ["t%s", ""])],
        ";",
        csv.QUOTE_MINIMAL,
        "utf-8-sig",
    )
)
@example(
    file=CsvFile(
        "отчёт",
        [Column("Дата", "date", ["2022-01-18", ""]), Column("Сумма", "text", ["tпицца", "tсыр"])],
        ";",
        csv.QUOTE_ALL,
        "cp1251",
    )
)
@example(
    # Found by Hypothesis: a tab after a single header made the sniffer see two columns.
    file=CsvFile("trailing tab", [Column("0\t", "bigint", ["0"])], ",", csv.QUOTE_MINIMAL, "utf-8")
)
@example(
    # Found by Hypothesis: quoted cells with an empty header read better with ' as the quote.
    file=CsvFile(
        "quoted", [Column("h", "bigint", ["0"]), Column("", "bigint", ["0"])], ",", 1, "utf-8"
    )
)
async def test_a_generated_file_serves_exactly_the_cells_written(
    client: AsyncTestClient[Litestar], seeded_data_dir: Path, file: CsvFile
) -> None:
    (seeded_data_dir / f"{file.stem}.csv").write_bytes(file.payload())

    rows, body = await all_rows(client, file.stem)

    names = normalize_headers(
        [column.header for column in file.columns],
        max_bytes=IDENTIFIER_BYTES,
        reserved=("__row",),
    )
    assert [c["name"] for c in body["columns"]] == list(names)
    assert [c["type"] for c in body["columns"]] == [column.kind for column in file.columns]
    written = [
        {
            name: served(cell, column.kind)
            for name, column, cell in zip(names, file.columns, row, strict=True)
        }
        for row in zip(*(column.cells for column in file.columns), strict=True)
    ]
    order = list(range(len(written)))
    date = body["date_column"]
    if date is not None:
        order.sort(key=lambda i: (written[i][date] is not None, str(written[i][date]), i))
    else:
        order.sort()
    expected = [written[i] for i in reversed(order)]
    kinds = {name: column.kind for name, column in zip(names, file.columns, strict=True)}
    got = [
        {
            name: Decimal(str(v)) if kinds[name] == "numeric" and v is not None else v
            for name, v in row.items()
        }
        for row in rows
    ]
    assert got == expected


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    payload=st.binary(max_size=400)
    | st.text(st.sampled_from(string.printable + "é\x00\ufeff"), max_size=300).map(str.encode)
)
async def test_no_file_ever_makes_logs_a_server_error(
    client: AsyncTestClient[Litestar], seeded_data_dir: Path, payload: bytes
) -> None:
    stem = f"garbage-{next(_counter)}"
    (seeded_data_dir / f"{stem}.csv").write_bytes(payload)

    response = await client.get("/logs", params={"table_name": stem})

    assert response.status_code in {200, 422}, response.text
    if response.status_code == 422:
        assert response.json()["file"] == f"{stem}.csv"
