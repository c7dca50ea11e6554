"""Where and how loaded tables are stored."""

from __future__ import annotations

DATA_SCHEMA = "csv"
"""The schema of the tables loaded from CSV files; nothing else lives in it."""
ROW_KEY = "__row"
"""The stable key of every loaded table: the record's position in its file (1, 2, ...)."""
