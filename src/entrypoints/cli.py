"""The `experiments` command."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from functools import partial
from pathlib import Path

import click
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

from adapters.synthetic_sales import generate_sales_data
from domain.errors import DomainError
from domain.model import TableName
from domain.ports.tables import TableSources
from domain.use_cases.load_table import LoadTable
from entrypoints.di.providers import make_container
from entrypoints.settings import Settings

console = Console(stderr=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
def main(verbose: bool) -> None:
    """An asynchronous service for running analytical experiments."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1), help="Processes.")
def api(host: str, port: int, workers: int) -> None:
    """Serve the HTTP API."""
    import uvicorn

    uvicorn.run(
        "entrypoints.http.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
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
    """Run everything: the API, a worker and, unless DATABASE_URL / REDIS_URL are set,
    embedded PostgreSQL and Redis."""
    from entrypoints.serve import serve as serve_everything

    serve_everything(
        host=host, port=port, state_dir=state_dir, concurrency=concurrency, console=console
    )


@main.command()
@click.option("--concurrency", type=click.IntRange(1), help="Processes [default: CPU count].")
@click.option("--loglevel", default="INFO", show_default=True)
def worker(concurrency: int | None, loglevel: str) -> None:
    """Run a Celery worker that computes metric jobs."""
    from entrypoints.worker.app import run_worker

    settings = Settings.from_env()
    if concurrency is not None:
        settings = dataclasses.replace(settings, worker_concurrency=concurrency)
    run_worker(settings, loglevel=loglevel)


@main.command()
@click.argument("tables", nargs=-1)
def load(tables: tuple[str, ...]) -> None:
    """Load CSV tables into PostgreSQL now (every CSV in DATA_DIR when none is named)."""
    try:
        asyncio.run(_load(Settings.from_env(), tables))
    except DomainError as error:
        raise click.ClickException(error.detail) from error


async def _load(settings: Settings, names: tuple[str, ...]) -> None:
    container = make_container(settings)
    try:
        sources = await container.get(TableSources)
        if not names:
            names = tuple(str(source.table) for source in await sources.list())
            if not names:
                console.print(f"No CSV files in {settings.data_dir}")
                return
        with _progress() as progress:
            for name in names:
                source = await sources.find(TableName(name))
                total = source.fingerprint.size if source else None
                task = progress.add_task(name, total=total)
                async with container() as request:
                    load_table = await request.get(LoadTable)
                    table = await load_table(
                        name,
                        progress=partial(progress.advance, task),
                        keep_serving_on_failure=False,
                    )
                progress.update(task, completed=total or 0)
                progress.console.print(
                    f"{table.name}: {table.row_count:,} rows, version {table.version}"
                )
    finally:
        await container.close()


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
    help="Folder to write df_sales.csv and df_sales_detail.csv to [default: DATA_DIR].",
)
def generate_data(sales: int, seed: int, out_dir: Path | None) -> None:
    """Write synthetic, mutually consistent df_sales.csv and df_sales_detail.csv."""
    out_dir = out_dir or Settings.from_env().data_dir
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
