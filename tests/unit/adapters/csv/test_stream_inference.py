"""The stream inference of the direct load infers exactly what observing every cell with
Python's csv module does, whatever the file and however its bytes are cut into chunks; only
its speed comes from matching runs of records at once."""

from __future__ import annotations

import csv
import io
import random
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.csv.stream_inference import StreamInferrer, head_types, records_end
from adapters.postgres.types import POSTGRES_LIMITS
from domain.tables.inference import ColumnInferrer, InferredColumn
from domain.tables.model import ColumnType, FileFormat

COMMAS = FileFormat(encoding="utf-8", delimiter=",", quote='"')
SEMICOLONS = FileFormat(encoding="utf-8", delimiter=";", quote='"')

# Cells of each kind a column is written in, and values that change a column's type or
# that the settled patterns leave to the cell-by-cell reading.
KINDS = {
    "integer": st.integers(-(10**18) + 1, 10**18 - 1).map(str),
    "decimal": st.decimals(-(10**6), 10**6, places=3, allow_nan=False).map(str),
    "date": st.dates().map(lambda d: d.isoformat()),
    "timestamp": st.datetimes().map(lambda d: d.isoformat(sep=" ")),
    "aware": st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    "boolean": st.sampled_from(["true", "false", "TRUE", "No", "yes"]),
    "text": st.text(st.characters(codec="utf-8", exclude_characters="\x00\r"), max_size=12),
}
ODD = st.sampled_from(
    [
        "",
        " ",
        "  7 ",
        "007",
        "1e5",
        "-.5",
        "5.",
        "2024-02-29",
        "2023-02-29",
        "0999-01-01",
        "9999-12-31",
        "2023-01-01T24:00",
        "2023-01-01 10:00+16",
        "2023-01-01 10:00Z",
        "12/01/2023",
        "x",
        "a,b",
        'say "hi"',
        "two\nlines",
        "tab\there",
        "１２",
        "NaN",
    ]
)


@st.composite
def files(draw: st.DrawFn) -> tuple[str, FileFormat]:
    """CSV text as csv.writer writes it: columns of one kind each, with odd values anywhere."""
    file_format = draw(st.sampled_from([COMMAS, SEMICOLONS]))
    kinds = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=4))
    rows = draw(st.integers(0, 60))
    cells = [
        [
            draw(st.one_of(KINDS[kind], ODD) if draw(st.integers(0, 9)) == 0 else KINDS[kind])
            for kind in kinds
        ]
        for _ in range(rows)
    ]
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=file_format.delimiter,
        lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
    )
    writer.writerow([f"c{i}" for i in range(len(kinds))])
    writer.writerows(cells)
    text = buffer.getvalue()
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    return text, file_format


def reference(text: str, file_format: FileFormat) -> tuple[int, list[InferredColumn]] | None:
    """Rows and types as the careful way reads them; None when a row is blank or of the
    wrong width."""
    rows = list(
        csv.reader(
            io.StringIO(text, newline=""),
            delimiter=file_format.delimiter,
            quotechar=file_format.quote,
            strict=True,
        )
    )
    header, body = rows[0], rows[1:]
    if any(len(row) != len(header) for row in body):
        return None
    inferrers = [
        ColumnInferrer(POSTGRES_LIMITS, decimal_comma=file_format.decimal_comma) for _ in header
    ]
    for row in body:
        for inferrer, cell in zip(inferrers, row, strict=True):
            inferrer.observe(cell)
    return len(body), [inferrer.result() for inferrer in inferrers]


def streamed(
    data: bytes, file_format: FileFormat, *, chunk_sizes: list[int], observed_run: int
) -> StreamInferrer:
    inferrer = StreamInferrer(file_format, POSTGRES_LIMITS, observed_run=observed_run)
    thread = threading.Thread(target=inferrer.run)
    thread.start()
    offset, sizes = 0, iter(chunk_sizes)
    while offset < len(data):
        size = next(sizes, 1 << 20)
        inferrer.feed(data[offset : offset + size])
        offset += size
    inferrer.close()
    thread.join()
    return inferrer


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files(),
    st.lists(st.integers(1, 400), max_size=20),
    st.sampled_from([1, 40, 1 << 16]),
    st.booleans(),
)
def test_streamed_inference_is_the_inference_of_every_cell(
    written: tuple[str, FileFormat], chunk_sizes: list[int], observed_run: int, bom: bool
) -> None:
    text, file_format = written
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    inferrer = streamed(data, file_format, chunk_sizes=chunk_sizes, observed_run=observed_run)
    expected = reference(text, file_format)
    assert inferrer.trustworthy == (expected is not None)
    if expected is not None:
        assert (inferrer.rows, inferrer.inferred) == expected


def test_most_records_are_matched_and_a_late_value_still_changes_a_column() -> None:
    rows = [f"{i},2023-01-{i % 28 + 1:02d} 10:00:00,{i % 7}.5,true" for i in range(50_000)]
    rows[40_000] = "40000,2023-01-01 10:00:00,x,true"
    text = "id,date,price,ok\n" + "\n".join(rows) + "\n"
    inferrer = streamed(text.encode(), COMMAS, chunk_sizes=[7_000] * 500, observed_run=1)
    assert inferrer.trustworthy
    assert inferrer.rows == 50_000
    assert [column.type for column in inferrer.inferred] == [
        ColumnType.BIGINT,
        ColumnType.TIMESTAMP,
        ColumnType.TEXT,
        ColumnType.BOOLEAN,
    ]


@pytest.mark.parametrize(
    "text",
    [
        "a,b\n1,2\n\n3,4\n",  # a blank line: COPY reads it, csv skips it
        "a,b\n1,2\n3\n",  # a short row
        "a,b\n1,2\n3,4,5\n",  # a long row
        'a,b\n1,"2\n',  # a quote left open
        "",  # no header
    ],
)
def test_what_copy_and_csv_would_read_differently_is_not_trusted(text: str) -> None:
    inferrer = streamed(text.encode(), COMMAS, chunk_sizes=[3] * 20, observed_run=1)
    assert not inferrer.trustworthy


def test_a_field_with_line_breaks_across_chunks_is_one_record() -> None:
    text = 'id,note\n1,"one\ntwo\r\nthree"\n2,plain\n' + "".join(f"{i},n\n" for i in range(3, 999))
    chunk_sizes = [random.Random(7).randint(1, 30) for _ in range(400)]
    inferrer = streamed(text.encode(), COMMAS, chunk_sizes=chunk_sizes, observed_run=1)
    assert inferrer.trustworthy
    assert inferrer.rows == 998
    assert inferrer.inferred == reference(text, COMMAS)[1]  # type: ignore[index]


def test_old_mac_line_endings_are_read_cell_by_cell() -> None:
    text = "a,b\r" + "".join(f"{i},{i}.5\r" for i in range(500))
    inferrer = streamed(text.encode(), COMMAS, chunk_sizes=[100] * 200, observed_run=1)
    assert (inferrer.trustworthy, inferrer.rows) == (True, 500)
    assert [column.type for column in inferrer.inferred] == [ColumnType.BIGINT, ColumnType.NUMERIC]


@pytest.mark.parametrize(
    ("text", "end"),
    [
        ("a\nb", 2),
        ('a,"x\ny"\nb', 8),
        ('a,"x\ny', 0),
        ("a\r\nb\r", 3),
        ("a\r", 0),
        ("", 0),
    ],
)
def test_records_end_after_a_line_break_outside_quotes(text: str, end: int) -> None:
    assert records_end(text, '"') == end


def test_the_head_gives_the_types_of_its_whole_records() -> None:
    head = b"id,when\n1,2023-01-01\n2,2023-01-0"
    assert head_types(head, COMMAS, POSTGRES_LIMITS, whole_file=False) == (
        ["id", "when"],
        reference("id,when\n1,2023-01-01\n", COMMAS)[1],  # type: ignore[index]
    )
    assert head_types(b"a,b\n1\n", COMMAS, POSTGRES_LIMITS, whole_file=True) == ([], [])
