"""The `experiments` command."""

from __future__ import annotations

import asyncio
import os
from functools import partial
from pathlib import Path

import click
from dishka import AsyncContainer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from domain.shared.errors import DomainError, InvalidInput, NotFound
from domain.tables.errors import MalformedSource
from domain.tables.model import TableName
from domain.tables.ports import TableSources
from domain.tables.use_cases.load_table import LoadTable
from entrypoints.config.logging import configure_logging
from entrypoints.config.settings import Settings, SettingsError
from entrypoints.di.providers import make_container

console = Console(stderr=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level (sets LOG_LEVEL).")
def main(verbose: bool) -> None:
    """An asynchronous service for running analytical experiments."""
    if verbose:
        # Through the environment, so that processes started from here log the same.
        os.environ["LOG_LEVEL"] = "DEBUG"
    settings()


def settings() -> Settings:
    """The settings from the environment; a wrong value stops the command, naming it."""
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.UsageError(str(error)) from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1), help="Processes.")
def api(host: str, port: int, workers: int) -> None:
    """Serve the HTTP API."""
    import uvicorn

    from entrypoints.http.server import server_options

    uvicorn.run(
        "entrypoints.http.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        **server_options(settings().http, in_process=workers == 1),
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--state-dir",
    default=".experiments",
    show_default=True,
    envvar="EXPERIMENTS_STATE_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where embedded PostgreSQL and Redis keep their data.",
)
@click.option("--concurrency", type=click.IntRange(1), help="Worker processes [default: CPUs].")
def serve(host: str, port: int, state_dir: Path, concurrency: int | None) -> None:
    """Run everything: the API, a worker and, unless DATABASE_URL / REDIS_URL / CACHE_URL are
    set, embedded PostgreSQL, Redis and the cache's Redis."""
    from entrypoints.serve import serve as serve_everything

    serve_everything(
        host=host, port=port, state_dir=state_dir, concurrency=concurrency, console=console
    )


@main.command()
@click.option("--concurrency", type=click.IntRange(1), help="Processes [default: CPU count].")
def worker(concurrency: int | None) -> None:
    """Run a Celery worker that computes metric jobs."""
    from entrypoints.worker.app import run_worker

    if concurrency is not None:
        os.environ["WORKER_CONCURRENCY"] = str(concurrency)
    run_worker(settings())


@main.command()
@click.argument("tables", nargs=-1)
def load(tables: tuple[str, ...]) -> None:
    """Load CSV tables into PostgreSQL now (every CSV in DATA_DIR when none is named).

    Every table is tried; each failure is reported with its file, line and column, and the
    command exits with status 1 at the end when any table failed.
    """
    current = settings()
    configure_logging(current.log.level)
    try:
        failed = asyncio.run(_load(current, tables))
    except DomainError as error:
        raise click.ClickException(error.detail) from error
    if failed:
        raise click.ClickException(
            f"{len(failed)} of the tables failed to load: {', '.join(failed)}"
        )


async def _load(current: Settings, names: tuple[str, ...]) -> list[str]:
    """Loads each table; returns the names of those that failed."""
    container = make_container(current)
    failed: list[str] = []
    try:
        sources = await container.get(TableSources)
        if not names:
            names = tuple(str(source.table) for source in await sources.list())
            if not names:
                console.print(f"No CSV files in {current.data.dir}")
                return failed
        with _progress() as progress:
            for name in names:
                found = await _load_one(container, sources, name, progress)
                if not found:
                    failed.append(name)
    finally:
        await container.close()
    return failed


async def _load_one(
    container: AsyncContainer, sources: TableSources, name: str, progress: Progress
) -> bool:
    """Loads one table, printing what came of it; False when it failed."""
    try:
        source = await sources.find(TableName(name))
        total = source.fingerprint.size if source else None
        task = progress.add_task(name, total=total)
        async with container() as request:
            load_table = await request.get(LoadTable)
            served = await load_table(
                name, progress=partial(progress.advance, task), keep_serving_on_failure=False
            )
    except (MalformedSource, NotFound, InvalidInput) as error:
        progress.console.print(f"[red]{name}: {error.detail}[/]")
        return False
    table = served.table
    progress.update(task, completed=total or 0)
    progress.console.print(f"{table.name}: {table.row_count:,} rows, version {table.version}")
    return True


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


@main.command()
@click.option(
    "--out",
    "out_file",
    default="docs/openapi.json",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write it; - for standard output.",
)
def openapi(out_file: Path) -> None:
    """Write the OpenAPI document the API serves at /schema/openapi.json."""
    from entrypoints.http.app import openapi_document

    text = openapi_document()
    if str(out_file) == "-":
        click.echo(text, nl=False)
    else:
        out_file.write_text(text)
        console.print(f"Wrote {out_file}")


@main.command("generate-data")
@click.option("--sales", default=20_000, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=42, show_default=True, type=int)
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the CSV files to [default: DATA_DIR].",
)
def generate_data(sales: int, seed: int, out_dir: Path | None) -> None:
    """Write synthetic, mutually consistent df_sales.csv and df_sales_detail.csv, and the
    users of an A/B test planted in them, experiment_users.csv."""
    from devtools.synthetic_sales import generate_sales_data

    out_dir = out_dir or settings().data.dir
    out_dir.mkdir(parents=True, exist_ok=True)
    with Progress(
        TextColumn("[bold]sales"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("sales", total=sales)
        result = generate_sales_data(
            out_dir, sales=sales, seed=seed, progress=lambda n: progress.advance(task, n)
        )
    console.print(
        f"Wrote {result.sales:,} sales to {result.sales_path} and "
        f"{result.details:,} items to {result.details_path} ({result.users:,} users)"
    )
    experiment = result.experiment
    if experiment.start is not None:
        console.print(
            f"Wrote {experiment.control + experiment.treatment:,} experiment users to "
            f"{experiment.users_path} ({experiment.treatment:,} pilots): pilots order "
            f"{experiment.lift:.0%} more often from {experiment.start} to {experiment.end}"
        )


@main.command()
@click.option(
    "--size",
    type=click.IntRange(100),
    help="Sales in the generated data [default: 1000000; 3000 with --quick].",
)
@click.option("--quick", is_flag=True, help="Everything tiny: proves the suite works (CI).")
@click.option(
    "--only",
    multiple=True,
    type=click.Choice(["ingest", "logs", "launch", "metric", "experiments", "scaling"]),
    help="Run only this benchmark (repeatable).",
)
@click.option(
    "--markdown",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the table as Markdown to this file.",
)
def bench(size: int | None, quick: bool, only: tuple[str, ...], markdown: Path | None) -> None:
    """Run the benchmark suite (docs/benchmarks.md): each benchmark interleaved with its
    baseline, on a database of its own on the configured PostgreSQL (dropped afterwards)."""
    try:
        from benchmarks.report import run_and_report
    except ModuleNotFoundError as error:
        # The image installs src/ only: the suite runs from a checkout.
        raise click.ClickException(
            "the benchmark suite (benchmarks/) is not installed here: run it from a checkout "
            "with `uv run experiments bench`"
        ) from error
    try:
        run_and_report(settings(), size=size, quick=quick, only=only, markdown=markdown)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from error
