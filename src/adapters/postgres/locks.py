"""The advisory lock keys of this service: (SERVICE, what), so they never collide with another
application's locks in the same database."""

from __future__ import annotations

SERVICE = 7_321_000
SCHEMA_LOCK = SERVICE
"""Held while migrations run (second key 0)."""
LOAD_LOCK = SERVICE + 1
"""Held while a table loads (second key: `hashtext` of the table's name)."""
LAUNCH_LOCK = SERVICE + 2
"""Held while a launch counts the active jobs and adds one (second key 0)."""
SWEEP_LOCK = SERVICE + 3
"""Held by the one process sweeping the job store for stuck jobs, for one round (second key
0)."""
