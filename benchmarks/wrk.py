"""HTTP load from wrk (Debian's package): requests per second and latency percentiles.

wrk is a C event loop that outruns a one-process Python server many times over, so the server
is what is measured. A Lua script sets the method and headers and, when the run is done,
prints one JSON line of its counters, read here rather than wrk's human output.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

WRK = "wrk"

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\n{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"errors": %d, "bad_status": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class WrkResult:
    requests: int
    seconds: float
    p50: float
    """Seconds."""
    p99: float
    errors: int
    """Socket errors and timeouts."""
    bad_status: int
    """Responses neither 2xx nor 3xx."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def script(method: str = "GET", headers: Mapping[str, str] | None = None) -> str:
    """The Lua script for a run: the request, and the JSON summary at the end."""
    lines = [f"wrk.method = {_lua_string(method)}"]
    lines += [
        f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}"
        for name, value in (headers or {}).items()
    ]
    return "\n".join(lines) + "\n" + _DONE


def _lua_string(text: str) -> str:
    return json.dumps(text)


def parse(output: str) -> WrkResult:
    """The summary line the script printed (the last line that is a JSON object)."""
    for raw in reversed(output.splitlines()):
        line = raw.strip()
        if line.startswith("{"):
            data = json.loads(line)
            return WrkResult(
                requests=int(data["requests"]),
                seconds=data["duration_us"] / 1e6,
                p50=data["p50_us"] / 1e6,
                p99=data["p99_us"] / 1e6,
                errors=int(data["errors"]),
                bad_status=int(data["bad_status"]),
            )
    raise ValueError(f"no summary in wrk's output:\n{output}")


def run(
    url: str,
    *,
    connections: int,
    seconds: float,
    threads: int = 2,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
) -> WrkResult:
    """Loads `url` with `connections` connections for `seconds` seconds."""
    with tempfile.TemporaryDirectory() as folder:
        lua = Path(folder) / "bench.lua"
        lua.write_text(script(method, headers))
        completed = subprocess.run(
            [
                WRK,
                f"--threads={min(threads, connections)}",
                f"--connections={connections}",
                f"--duration={max(1, round(seconds))}s",
                "--timeout=10s",
                f"--script={lua}",
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        )
    return parse(completed.stdout)
