"""Generated sales with a planted experiment, and their per-user aggregates computed straight
from the CSV files with the csv module: the independent answer the analyses are checked
against."""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from devtools.synthetic_sales import (
    EXPERIMENT_USERS_FILE,
    SALES_FILE,
    TREATMENT_LIFT,
    GeneratedData,
    generate_sales_data,
)
from tests.support.fakes import InMemoryExperimentData, InMemoryTables

Q4_2023 = {"from_date": "2023-10-01", "to_date": "2023-12-31"}
"""The planted experiment's window in data generated with the default dates."""


def tables_of(folder: Path) -> InMemoryTables:
    """The sales and experiment users of a folder, as in-memory tables."""
    tables = InMemoryTables()
    for name in (SALES_FILE, EXPERIMENT_USERS_FILE):
        tables.sources.put(Path(name).stem, (folder / name).read_text())
    return tables


@dataclass(frozen=True)
class Generated:
    """Generated files, and the same files as in-memory tables."""

    data: GeneratedData
    folder: Path

    def tables(self) -> InMemoryTables:
        return tables_of(self.folder)

    def experiment_data(self) -> InMemoryExperimentData:
        return InMemoryExperimentData(self.tables())


def generate(
    folder: Path, *, sales: int, seed: int = 42, lift: float = TREATMENT_LIFT
) -> Generated:
    return Generated(generate_sales_data(folder, sales=sales, seed=seed, lift=lift), folder)


@dataclass(frozen=True)
class CsvGroups:
    """Per-user values of each group, read from the CSV files in plain Python."""

    control: dict[str, Decimal]
    treatment: dict[str, Decimal]

    def arrays(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return (
            np.array([float(v) for v in self.control.values()]),
            np.array([float(v) for v in self.treatment.values()]),
        )


def pilots(users_file: Path) -> dict[str, str]:
    with users_file.open(newline="") as file:
        return {row["user_id"]: row["pilot"] for row in csv.DictReader(file)}


def csv_per_user(
    sales_file: Path,
    users_file: Path,
    *,
    since: dt.date,
    until: dt.date,
    column: str | None = "price",
) -> CsvGroups:
    """Each assigned user's sum of `column` (or count of sales) over the days, 0 without
    sales: what `ab_test` with aggregate sum computes."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    first, last = since.isoformat(), until.isoformat()
    with sales_file.open(newline="") as file:
        for row in csv.DictReader(file):
            if first <= row["date"][:10] <= last:
                totals[row["user_id"]] += Decimal(row[column]) if column else 1
    groups: dict[str, dict[str, Decimal]] = {"0": {}, "1": {}}
    for user, pilot in pilots(users_file).items():
        groups[pilot][user] = totals.get(user, Decimal(0))
    return CsvGroups(control=groups["0"], treatment=groups["1"])
