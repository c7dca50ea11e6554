"""A deterministic generator of realistic synthetic pizza sales, streamed to CSV files.

`df_sales.csv` holds one row per order, `df_sales_detail.csv` one row per pizza or drink of an
order, and `experiment_users.csv` the users of an A/B test (`user_id,pilot`: 0 for control, 1
for the pilot group) whose effect is planted in the sales, so that the data has a known answer:

- The experiment runs over the last `EXPERIMENT_DAYS` days of the data (at most half of them):
  with the defaults, 2023-10-01 to 2023-12-31, and the 92 days before it (2023-07-01 to
  2023-09-30) are its pre-period.
- Its users are everybody who ordered before it started, each put in the pilot group by a
  fair coin of its own seed (so about half are pilots, independently of how they buy).
- During the window a pilot user is `1 + lift` times as likely as a control user of the same
  habits to be the one who places each order (`TREATMENT_LIFT`, 20%): pilots order 20% more
  often, so revenue, orders and items per user are 20% higher in expectation. What an order
  holds does not change, so the average check (revenue per order) has no effect at all.

Only who places the window's orders changes: the number of sales and items per day and every
order's contents are drawn exactly as without an experiment. The same (arguments, seed)
always give byte-identical files. Memory is bounded by the number of users and days, never by
the number of sales, so millions of sales are fine.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import random
import secrets
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

SALES_FILE = "df_sales.csv"
DETAILS_FILE = "df_sales_detail.csv"
EXPERIMENT_USERS_FILE = "experiment_users.csv"
SALES_HEADER = ("sale_id", "date", "count_pizza", "count_drink", "price", "user_id")
DETAILS_HEADER = ("sale_id", "good", "price", "date", "user_id")
EXPERIMENT_USERS_HEADER = ("user_id", "pilot")

EXPERIMENT_DAYS = 92
"""The planted experiment's length: a quarter. It runs over the last days of the data."""
TREATMENT_LIFT = 0.3
"""How much more likely a pilot user is to place each order of the window than a control user
with the same habits."""

PROGRESS_EVERY = 5_000
"""Sales between two calls of the progress callback."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MenuItem:
    name: str
    price: int
    """Whole currency units, so an order's total is an exact integer sum."""
    popularity: float


PIZZAS: tuple[MenuItem, ...] = (
    MenuItem(name="Margherita", price=450, popularity=18),
    MenuItem(name="Pepperoni", price=550, popularity=22),
    MenuItem(name="Four Cheese", price=620, popularity=11),
    MenuItem(name="Hawaiian", price=520, popularity=8),
    MenuItem(name="BBQ Chicken", price=640, popularity=10),
    MenuItem(name="Vegetarian", price=490, popularity=7),
    MenuItem(name="Diavola", price=590, popularity=7),
    MenuItem(name="Carbonara", price=610, popularity=6),
    MenuItem(name="Mushroom", price=480, popularity=6),
    MenuItem(name="Seafood", price=790, popularity=5),
)
DRINKS: tuple[MenuItem, ...] = (
    MenuItem(name="Cola", price=150, popularity=35),
    MenuItem(name="Cola Zero", price=150, popularity=15),
    MenuItem(name="Orange Juice", price=190, popularity=14),
    MenuItem(name="Lemonade", price=170, popularity=14),
    MenuItem(name="Iced Tea", price=160, popularity=12),
    MenuItem(name="Sparkling Water", price=120, popularity=10),
)

_PIZZA_COUNT_WEIGHTS = (50, 30, 11, 6, 3)
"""Weights of 1..5 pizzas in an order."""
_DRINK_COUNT_WEIGHTS = {
    1: (62, 25, 9, 3, 1),
    2: (45, 25, 20, 7, 3),
    3: (32, 22, 22, 15, 9),
    4: (25, 18, 22, 18, 17),
    5: (20, 15, 22, 20, 23),
}
"""Weights of 0..4 drinks by number of pizzas: bigger orders are groups, who drink more."""

_WEEKDAY_FACTOR = (0.85, 0.84, 0.88, 0.94, 1.30, 1.42, 1.08)
"""Monday..Sunday."""
_HOLIDAY_FACTOR = {(12, 31): 1.7, (1, 1): 1.35, (2, 14): 1.15}
_YEARLY_GROWTH = 0.25
_SEASON_AMPLITUDE = 0.10
"""Busiest in mid-winter, quietest in mid-summer."""
_SEASON_PEAK_DAY_OF_YEAR = 20
_DAY_NOISE_SIGMA = 0.15

_WEEKDAY_HOURS = (
    0.60, 0.30, 0.15, 0.08, 0.05, 0.05, 0.10, 0.30, 0.60, 1.00, 1.80, 3.50,
    6.50, 6.00, 3.20, 2.20, 2.30, 3.50, 6.00, 8.00, 7.00, 4.50, 2.50, 1.20,
)  # fmt: skip
_WEEKEND_HOURS = (
    1.20, 0.80, 0.40, 0.20, 0.08, 0.05, 0.08, 0.20, 0.40, 0.80, 1.60, 3.00,
    5.00, 5.50, 4.50, 3.50, 3.50, 4.50, 6.50, 8.00, 7.50, 5.50, 3.50, 2.00,
)  # fmt: skip
"""Relative order rates for each hour 0..23: quiet nights, a lunch and a bigger dinner peak."""

_USERS_PER_SALE = 0.8
"""Size of the user pool per sale; users who never happen to order don't appear in the data."""
_MAX_USERS = 0x1000000 // 2
"""Keeps the rejection sampling of distinct 24-bit ids fast."""
_USER_PARETO_ALPHA = 1.15
_USER_WEIGHT_CAP = 150.0
"""A heavy tail without one user owning a visible share of all sales."""
_INITIAL_USER_SHARE = 0.10
"""Share of the pool able to order on the first day; the rest join as sales accumulate."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantedExperiment:
    """The A/B test planted in the data: its window, its users, and the effect."""

    users_path: Path
    start: dt.date | None
    """The window's first day; None when the data is too short for an experiment."""
    end: dt.date | None
    """The window's last day (inclusive)."""
    control: int
    """Users with pilot = 0."""
    treatment: int
    """Users with pilot = 1."""
    lift: float

    @property
    def pre_period(self) -> tuple[dt.date, dt.date] | None:
        """The equally long period just before the window (inclusive), for CUPED."""
        if self.start is None or self.end is None:
            return None
        length = self.end - self.start + dt.timedelta(days=1)
        return self.start - length, self.start - dt.timedelta(days=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class GeneratedData:
    sales_path: Path
    details_path: Path
    sales: int
    details: int
    users: int
    """Distinct users that appear in the files."""
    experiment: PlantedExperiment


def generate_sales_data(
    out_dir: Path,
    *,
    sales: int = 20_000,
    seed: int = 42,
    start: dt.date = dt.date(2022, 1, 1),
    days: int = 730,
    lift: float = TREATMENT_LIFT,
    progress: Callable[[int], None] | None = None,
) -> GeneratedData:
    """Write `df_sales.csv`, `df_sales_detail.csv` and `experiment_users.csv` into `out_dir`,
    replacing any old ones.

    Each file is written to a temporary file next to it and renamed into place, so a reader
    sees either the old file or the complete new one. `progress` receives the number of
    sales written since its previous call; the numbers add up to `sales`. `lift` is the
    planted effect (0 for an experiment without one).
    """
    if isinstance(sales, bool) or not isinstance(sales, int) or sales < 1:
        raise ValueError(f"sales must be an integer >= 1, got {sales!r}")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be an integer >= 1, got {days!r}")
    if isinstance(start, dt.datetime) or not isinstance(start, dt.date):
        raise ValueError(f"start must be a date, got {start!r}")
    try:
        start + dt.timedelta(days=days - 1)
    except OverflowError:
        raise ValueError(f"start + days runs past year {dt.MAXYEAR}") from None
    if isinstance(lift, bool) or not isinstance(lift, int | float) or not 0 <= lift <= 100:
        raise ValueError(f"lift must be a number from 0 to 100, got {lift!r}")

    rng = random.Random(seed)
    day_counts = _allocate_sales_to_days(rng, sales, start, days)
    users = _UserPool(rng, min(_MAX_USERS, math.ceil(sales * _USERS_PER_SALE)))
    window_days = min(EXPERIMENT_DAYS, days // 2)
    window_start = days - window_days if window_days else None
    # Its own stream: the assignment changes none of the draws of the sales themselves.
    coin = random.Random(f"{seed}:experiment")

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / name for name in (SALES_FILE, DETAILS_FILE, EXPERIMENT_USERS_FILE)]
    token = secrets.token_hex(6)
    temporary = [path.with_name(f".{path.name}.{token}.tmp") for path in paths]
    try:
        with ExitStack() as stack:
            # "x" creates the file with the usual umask-derived mode, unlike mkstemp's 0600.
            sales_file, details_file, users_file = (
                stack.enter_context(_open_new(path)) for path in temporary
            )
            details = _write_sales(
                rng,
                start,
                day_counts,
                users,
                sales_file=sales_file,
                details_file=details_file,
                experiment=(window_start, lambda: users.start_experiment(coin, lift)),
                progress=progress,
            )
            control, treatment = users.write_experiment_users(users_file)
            for file in (sales_file, details_file, users_file):
                file.flush()
                os.fsync(file.fileno())
        for path, tmp in zip(paths, temporary, strict=True):
            os.replace(tmp, path)
    finally:
        for tmp in temporary:
            tmp.unlink(missing_ok=True)

    window = (
        (start + dt.timedelta(days=window_start), start + dt.timedelta(days=days - 1))
        if window_start is not None
        else (None, None)
    )
    return GeneratedData(
        sales_path=paths[0],
        details_path=paths[1],
        sales=sales,
        details=details,
        users=users.seen_count,
        experiment=PlantedExperiment(
            users_path=paths[2],
            start=window[0],
            end=window[1],
            control=control,
            treatment=treatment,
            lift=float(lift),
        ),
    )


def _open_new(path: Path) -> TextIO:
    return path.open("x", encoding="utf-8", newline="")


def _allocate_sales_to_days(rng: random.Random, sales: int, start: dt.date, days: int) -> list[int]:
    """Per-day sale counts that add up to exactly `sales`, proportional to each day's weight."""
    weights: list[int] = []
    for index in range(days):
        day = start + dt.timedelta(days=index)
        season = 1.0 + _SEASON_AMPLITUDE * math.cos(
            2.0 * math.pi * (day.timetuple().tm_yday - _SEASON_PEAK_DAY_OF_YEAR) / 365.25
        )
        weight = (
            (1.0 + _YEARLY_GROWTH) ** (index / 365.0)
            * season
            * _WEEKDAY_FACTOR[day.weekday()]
            * _HOLIDAY_FACTOR.get((day.month, day.day), 1.0)
            * rng.lognormvariate(0.0, _DAY_NOISE_SIGMA)
        )
        # Integer weights make the apportionment exact: no float sum can miss `sales` by one.
        weights.append(max(1, round(weight * 2**32)))

    total = sum(weights)
    counts = [sales * weight // total for weight in weights]
    leftover = sales - sum(counts)
    # Largest remainders first; the day index breaks ties so the result is deterministic.
    by_remainder = sorted(range(days), key=lambda i: (-(sales * weights[i] % total), i))
    for index in by_remainder[:leftover]:
        counts[index] += 1
    return counts


class _UserPool:
    """Distinct 6-hex-digit user ids with heavy-tailed order propensities.

    Users are ordered by when they join; on any day only a prefix of the pool can order, and
    that prefix grows with cumulative sales, so the customer base grows with the business.

    `_seen` holds a byte per user: 0 never drawn, 1 drawn; from the experiment's start, users
    in it hold CONTROL or PILOT instead.
    """

    __slots__ = ("_cumulative", "_ids", "_seen", "seen_count", "size")

    CONTROL = 2
    PILOT = 3

    def __init__(self, rng: random.Random, size: int) -> None:
        self.size = size
        self._ids = _distinct_ids(rng, size)
        self._cumulative = array("d", bytes(8 * size))
        running = 0.0
        for index in range(size):
            running += min(_USER_WEIGHT_CAP, rng.paretovariate(_USER_PARETO_ALPHA))
            self._cumulative[index] = running
        self._seen = bytearray(size)
        self.seen_count = 0

    def active_after(self, sold: int, total: int) -> int:
        share = _INITIAL_USER_SHARE + (1.0 - _INITIAL_USER_SHARE) * sold / total
        return max(1, min(self.size, math.ceil(self.size * share)))

    def draw(self, rng: random.Random, active: int) -> str:
        last = active - 1
        index = min(last, bisect_right(self._cumulative, rng.random() * self._cumulative[last]))
        if not self._seen[index]:
            self._seen[index] = 1
            self.seen_count += 1
        return f"{self._ids[index]:06x}"

    def start_experiment(self, coin: random.Random, lift: float) -> None:
        """Everybody who ordered so far joins the experiment, a pilot by a fair coin; from now
        on a pilot's weight in every draw is `1 + lift` times its own.

        The weights are rewritten in place (the window runs to the end of the data), so a
        draw still costs one random number and the other draws stay as they were.
        """
        seen, cumulative = self._seen, self._cumulative
        before = running = 0.0
        for index in range(self.size):
            weight = cumulative[index] - before
            before = cumulative[index]
            if seen[index]:
                seen[index] = self.PILOT if coin.random() < 0.5 else self.CONTROL
                if seen[index] == self.PILOT:
                    weight *= 1.0 + lift
            running += weight
            cumulative[index] = running

    def write_experiment_users(self, file: TextIO) -> tuple[int, int]:
        """Writes `user_id,pilot` for the experiment's users; returns (control, pilots)."""
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(EXPERIMENT_USERS_HEADER)
        counts = [0, 0]
        for index, state in enumerate(self._seen):
            if state >= self.CONTROL:
                pilot = state - self.CONTROL
                writer.writerow((f"{self._ids[index]:06x}", pilot))
                counts[pilot] += 1
        return counts[0], counts[1]


def _distinct_ids(rng: random.Random, count: int) -> array[int]:
    taken = bytearray(0x1000000 // 8)
    ids = array("L", bytes(array("L").itemsize * count))
    for index in range(count):
        while True:
            candidate = rng.randrange(0x1000000)
            byte, bit = divmod(candidate, 8)
            if not taken[byte] >> bit & 1:
                break
        taken[byte] |= 1 << bit
        ids[index] = candidate
    if count and not any(value < 0x100000 for value in ids):
        # Small pools can miss the 1-in-16 ids that start with 0; consumers must meet some.
        while True:
            candidate = rng.randrange(0x100000)
            byte, bit = divmod(candidate, 8)
            if not taken[byte] >> bit & 1:
                break
        ids[rng.randrange(count)] = candidate
    return ids


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = float(sum(weights))
    running = 0.0
    result = [0.0]
    for weight in weights:
        running += weight
        result.append(running / total)
    result[-1] = 1.0
    return result


_WEEKDAY_HOURS_CDF = _cumulative(_WEEKDAY_HOURS)
_WEEKEND_HOURS_CDF = _cumulative(_WEEKEND_HOURS)
_PIZZA_CUM = tuple(_cumulative([item.popularity for item in PIZZAS])[1:])
_DRINK_CUM = tuple(_cumulative([item.popularity for item in DRINKS])[1:])
_PIZZA_COUNT_CUM = tuple(_cumulative(_PIZZA_COUNT_WEIGHTS)[1:])
_DRINK_COUNT_CUM = {
    pizzas: tuple(_cumulative(weights)[1:]) for pizzas, weights in _DRINK_COUNT_WEIGHTS.items()
}


def _seconds_of_day(rng: random.Random, count: int, hours_cdf: Sequence[float]) -> Iterator[int]:
    """`count` order times of one day, ascending, without holding them all.

    Draws ascending uniform order statistics one at a time (each the minimum of the uniforms
    still to come) and maps them through the inverse of the hourly-rate distribution.
    """
    position = 0.0
    for remaining in range(count, 0, -1):
        position = 1.0 - (1.0 - position) * rng.random() ** (1.0 / remaining)
        hour = min(23, bisect_right(hours_cdf, position) - 1)
        low, high = hours_cdf[hour], hours_cdf[hour + 1]
        within = min(3599, int((position - low) / (high - low) * 3600))
        yield hour * 3600 + within


def _write_sales(
    rng: random.Random,
    start: dt.date,
    day_counts: Sequence[int],
    users: _UserPool,
    *,
    sales_file: TextIO,
    details_file: TextIO,
    experiment: tuple[int | None, Callable[[], None]],
    progress: Callable[[int], None] | None,
) -> int:
    """Writes the sales and their items; `experiment` is the day index the experiment starts
    on (None for none) and what starts it."""
    sales_writer = csv.writer(sales_file, lineterminator="\n")
    details_writer = csv.writer(details_file, lineterminator="\n")
    sales_writer.writerow(SALES_HEADER)
    details_writer.writerow(DETAILS_HEADER)

    total = sum(day_counts)
    sale_id = 0
    details = 0
    unreported = 0
    # Local names and inline bisects instead of rng.choices: this loop runs per item.
    random = rng.random
    write_sale = sales_writer.writerow
    write_detail = details_writer.writerow
    pizzas = [(item.name, item.price) for item in PIZZAS]
    drinks = [(item.name, item.price) for item in DRINKS]
    experiment_day, start_experiment = experiment
    for index, count in enumerate(day_counts):
        if index == experiment_day:
            start_experiment()
        if not count:
            continue
        day = start + dt.timedelta(days=index)
        prefix = f"{day.isoformat()} "
        hours_cdf = _WEEKEND_HOURS_CDF if day.weekday() >= 5 else _WEEKDAY_HOURS_CDF
        active = users.active_after(sale_id + count, total)
        for second in _seconds_of_day(rng, count, hours_cdf):
            sale_id += 1
            minutes, seconds = divmod(second, 60)
            hours, minutes = divmod(minutes, 60)
            stamp = f"{prefix}{hours:02d}:{minutes:02d}:{seconds:02d}"
            user = users.draw(rng, active)
            pizza_count = bisect_right(_PIZZA_COUNT_CUM, random()) + 1
            drink_count = bisect_right(_DRINK_COUNT_CUM[pizza_count], random())
            price = 0
            for _ in range(pizza_count):
                name, item_price = pizzas[bisect_right(_PIZZA_CUM, random())]
                write_detail((sale_id, name, item_price, stamp, user))
                price += item_price
            for _ in range(drink_count):
                name, item_price = drinks[bisect_right(_DRINK_CUM, random())]
                write_detail((sale_id, name, item_price, stamp, user))
                price += item_price
            write_sale((sale_id, stamp, pizza_count, drink_count, price, user))
            details += pizza_count + drink_count
            unreported += 1
            if progress is not None and unreported >= PROGRESS_EVERY:
                progress(unreported)
                unreported = 0
    if progress is not None and unreported:
        progress(unreported)
    return details
