"""Where and how loaded tables are stored."""

from __future__ import annotations

import hashlib

from psycopg import sql

from adapters.postgres.types import IDENTIFIER_BYTES
from domain.tables.model import TableName

DATA_SCHEMA = "csv"
"""The schema of the tables loaded from CSV files; nothing else lives in it."""
ROW_KEY = "__row"
"""The stable key of every loaded table: the record's position in its file (1, 2, ...)."""

_DIGEST_CHARACTERS = 16


def storage_name(name: TableName) -> str:
    """The name of the table that stores `name` in the data schema: the name itself when it
    fits a PostgreSQL identifier, else its start and a digest of the whole (a file name may
    be four times longer than an identifier)."""
    encoded = name.value.encode()
    if len(encoded) <= IDENTIFIER_BYTES:
        return name.value
    digest = hashlib.sha256(encoded).hexdigest()[:_DIGEST_CHARACTERS]
    head = encoded[: IDENTIFIER_BYTES - _DIGEST_CHARACTERS - 1].decode(errors="ignore")
    return f"{head}~{digest}"


def stored_table(name: TableName) -> sql.Identifier:
    """The qualified identifier of the table that stores `name`."""
    return sql.Identifier(DATA_SCHEMA, storage_name(name))
