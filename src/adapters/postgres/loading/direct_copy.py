"""The fast path of a load: the file's own bytes straight into a typed table.

PostgreSQL's COPY parses the CSV and converts every value (in C, in its own process, on the
other core), while Python infers the types from the same bytes in a thread. The table's types
come from the file's first records; the load stands only when the inference over every
record agrees with them and both sides counted the same records. Otherwise (a late value that
changes a column's type, a value PostgreSQL reads but the rules do not accept, a blank line,
a malformed row) the caller rolls back and takes the careful path, which reads the file row
by row and reports exactly where it breaks. Files whose values need rewriting before a cast
(non-ISO dates, decimal commas) or whose encoding PostgreSQL cannot read go the careful way
from the start.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from typing import BinaryIO, Final

from psycopg import AsyncConnection, sql

from adapters.csv.reader import CHUNK_BYTES
from adapters.csv.stream_inference import StreamInferrer, head_types
from adapters.postgres.loading.failures import UNSTORABLE, unstorable
from adapters.postgres.loading.typed_table import Built
from adapters.postgres.schema import DATA_SCHEMA, ROW_KEY
from adapters.postgres.types import COPY_ENCODING, POSTGRES_LIMITS, SQL_TYPE
from domain.tables.errors import MalformedSource
from domain.tables.inference import InferredColumn, normalize_headers
from domain.tables.model import Column, FileFormat, Fingerprint
from domain.tables.ports import ProgressCallback

SAMPLE_BYTES: Final = CHUNK_BYTES
"""The first bytes the table's types are taken from."""


class NotDirect(Exception):
    """The file cannot be, or was not, loaded the direct way; the careful way will tell."""


def eligible(file_format: FileFormat) -> bool:
    """Whether PostgreSQL can read the file's bytes as they are."""
    return file_format.encoding in COPY_ENCODING


async def copy_direct(
    conn: AsyncConnection,
    *,
    target: str,
    file_name: str,
    file: BinaryIO,
    file_format: FileFormat,
    progress: ProgressCallback | None,
) -> Built:
    """Creates `target` in the data schema typed as the file's first records say, and COPYs
    the whole file into it; raises NotDirect when the load cannot stand."""
    head = file.read(SAMPLE_BYTES)
    size = os.fstat(file.fileno()).st_size
    header, types = head_types(head, file_format, POSTGRES_LIMITS, whole_file=len(head) >= size)
    if not header or not any(cell.strip() for cell in header) or any(map(_needs_rewrite, types)):
        raise NotDirect
    names = list(
        normalize_headers(header, max_bytes=POSTGRES_LIMITS.identifier_bytes, reserved=(ROW_KEY,))
    )
    table = sql.Identifier(DATA_SCHEMA, target)
    await conn.execute(
        sql.SQL("CREATE TABLE {} ({} bigint GENERATED ALWAYS AS IDENTITY, {})").format(
            table,
            sql.Identifier(ROW_KEY),
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(SQL_TYPE[i.type]))
                for n, i in zip(names, types, strict=True)
            ),
        )
    )
    inferrer = StreamInferrer(file_format, POSTGRES_LIMITS)
    inferring = asyncio.create_task(asyncio.to_thread(inferrer.run))
    digest = hashlib.sha256()
    stat = os.fstat(file.fileno())
    read = 0
    try:
        async with conn.cursor() as cur:
            async with cur.copy(_copy_statement(table, names, file_format)) as copy:
                chunk = head
                while chunk:
                    digest.update(chunk)
                    read += len(chunk)
                    await asyncio.to_thread(inferrer.feed, chunk)
                    await copy.write(chunk)
                    if progress is not None:
                        progress(len(chunk))
                    chunk = await asyncio.to_thread(file.read, CHUNK_BYTES)
            copied = cur.rowcount
    except UNSTORABLE as error:
        if not unstorable(error):
            raise
        raise NotDirect from error
    finally:
        await asyncio.to_thread(inferrer.close)
        await inferring
    after = os.fstat(file.fileno())
    if (after.st_size, after.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns) or read != size:
        raise MalformedSource(file_name, "the file changed while it was being loaded")
    if not inferrer.trustworthy or inferrer.inferred != types or inferrer.rows != copied:
        raise NotDirect
    return Built(
        table=target,
        file_format=file_format,
        columns=[Column(name=n, type=i.type) for n, i in zip(names, types, strict=True)],
        inferred=types,
        rows=copied,
        fingerprint=Fingerprint(size=size, mtime_ns=stat.st_mtime_ns, sha256=digest.hexdigest()),
    )


def _needs_rewrite(inferred: InferredColumn) -> bool:
    """Values PostgreSQL cannot cast as they are written."""
    fmt = inferred.temporal_format
    return inferred.decimal_comma or (fmt is not None and not fmt.is_iso)


def _copy_statement(
    table: sql.Identifier, names: list[str], file_format: FileFormat
) -> sql.Composed:
    columns = sql.SQL(", ").join(map(sql.Identifier, names))
    return sql.SQL(
        "COPY {} ({}) FROM STDIN (FORMAT csv, HEADER true, DELIMITER {}, QUOTE {}, "
        "ENCODING {}, FORCE_NULL ({}))"
    ).format(
        table,
        columns,
        sql.Literal(file_format.delimiter),
        sql.Literal(file_format.quote),
        sql.Literal(COPY_ENCODING[file_format.encoding]),
        columns,
    )
