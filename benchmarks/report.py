"""`experiments bench`: run the suite, print its table, optionally write it as Markdown."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from benchmarks.measure import Row, markdown_table, rich_table
from benchmarks.suite import Options, run_suite
from entrypoints.config.settings import Settings


def machine() -> str:
    """CPUs, memory and CPU model, as /proc tells them."""
    model = platform.processor() or "unknown CPU"
    memory = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) / 2**20:.1f} GiB memory"
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}){memory}, Python {platform.python_version()}"


def run_and_report(
    settings: Settings,
    *,
    size: int | None,
    quick: bool,
    only: Sequence[str],
    markdown: Path | None,
) -> list[Row]:
    # Wide enough for the table when the output is a file or a pipe (CI, docs).
    console = Console() if sys.stdout.isatty() else Console(width=240)
    options = Options.make(size=size, quick=quick, only=only)
    started = dt.datetime.now(dt.UTC)
    rows = run_suite(settings, options, Console(stderr=True))
    command = "experiments " + shlex.join(["bench", *sys.argv[2:]])
    title = (
        f"{command} — {started:%Y-%m-%d %H:%M} UTC, {options.size:,} sales, "
        f"{options.rounds} interleaved rounds, medians"
    )
    console.print(rich_table(rows, title))
    console.print(f"Machine: {machine()}")
    console.print("ratio > 1: ours does better than the baseline; < 1: worse.")
    if markdown is not None:
        markdown.write_text(
            f"Command: `{command}`  \nDate: {started:%Y-%m-%d %H:%M} UTC, took "
            f"{(dt.datetime.now(dt.UTC) - started).total_seconds() / 60:.1f} min  \n"
            f"Machine: {machine()}\n\n{markdown_table(rows)}\n"
        )
    return rows
