"""What PostgreSQL stores and accepts: the SQL type of each column type, and the limits type
inference must respect so that every inferred column converts without an error."""

from __future__ import annotations

from typing import Final

from domain.tables.inference import StoreLimits
from domain.tables.model import ColumnType

IDENTIFIER_BYTES: Final = 63
"""PostgreSQL's NAMEDATALEN - 1: longer identifiers are truncated."""

WHITESPACE: Final = " \t\n\r\v\f"
"""What PostgreSQL's input functions skip around a value (C `isspace`)."""

SQL_TYPE: Final = {
    ColumnType.BIGINT: "bigint",
    ColumnType.NUMERIC: "numeric",
    ColumnType.BOOLEAN: "boolean",
    ColumnType.DATE: "date",
    ColumnType.TIMESTAMP: "timestamp",
    ColumnType.TIMESTAMPTZ: "timestamptz",
    ColumnType.TEXT: "text",
}

POSTGRES_LIMITS: Final = StoreLimits(
    whitespace=WHITESPACE,
    # PostgreSQL reads offsets up to 15:59.
    max_utc_offset_hours=15,
    # PostgreSQL's numeric takes far more; these bounds keep every value far from its limits.
    max_number_length=1000,
    max_exponent=1000,
    # psycopg reads dates back as Python's, years 1 to 9999; a zone or rounding could carry a
    # value of the first or last year past them.
    edge_years=frozenset({"0001", "9999"}),
    identifier_bytes=IDENTIFIER_BYTES,
)

COPY_ENCODING: Final = {
    "utf-8": "UTF8",
    "utf-8-sig": "UTF8",
    "cp1250": "WIN1250",
    "cp1251": "WIN1251",
    "cp1252": "WIN1252",
    "cp1253": "WIN1253",
    "cp1254": "WIN1254",
    "cp1257": "WIN1257",
    "iso8859-1": "LATIN1",
    "iso8859-15": "LATIN9",
    "koi8-r": "KOI8R",
}
"""What COPY's ENCODING option calls the encodings (Python's codec names) it can read."""
