"""The advisory lock keys of this service: (SERVICE, what), so they never collide with another
application's locks in the same database."""

from __future__ import annotations

SERVICE = 7_321_000
SCHEMA_LOCK = SERVICE
"""Held while migrations run (second key 0)."""
LOAD_LOCK = SERVICE + 1
"""Held while a table loads (second key: `hashtext` of the table's name)."""
# SERVICE + 2 was the launch lock, until migration 0006 counted the active jobs in a row.
SWEEP_LOCK = SERVICE + 3
"""Held by the one process sweeping the job store for stuck jobs, for one round (second key
0)."""
RETENTION_LOCK = SERVICE + 4
"""Held while a batch of old finished jobs is deleted (second key 0): one process at a time."""
