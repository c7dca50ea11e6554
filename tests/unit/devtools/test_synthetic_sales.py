from __future__ import annotations

import csv
import datetime as dt
import re
import tracemalloc
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.synthetic_sales import (
    DETAILS_FILE,
    DETAILS_HEADER,
    DRINKS,
    EXPERIMENT_DAYS,
    EXPERIMENT_USERS_FILE,
    EXPERIMENT_USERS_HEADER,
    PIZZAS,
    PROGRESS_EVERY,
    SALES_FILE,
    SALES_HEADER,
    TREATMENT_LIFT,
    GeneratedData,
    generate_sales_data,
)

START = dt.date(2022, 1, 1)
DAYS = 730
SALES = 20_000
USER_ID = re.compile(r"^[0-9a-f]{6}$")
STAMP = "%Y-%m-%d %H:%M:%S"
MENU_PRICES = {item.name: item.price for item in PIZZAS + DRINKS}
ALL_FILES = sorted([SALES_FILE, DETAILS_FILE, EXPERIMENT_USERS_FILE])


@dataclass(frozen=True, slots=True)
class Sale:
    sale_id: int
    date: str
    count_pizza: int
    count_drink: int
    price: int
    user_id: str


@dataclass(frozen=True, slots=True)
class Detail:
    sale_id: int
    good: str
    price: int
    date: str
    user_id: str


@dataclass(frozen=True, slots=True)
class Dataset:
    result: GeneratedData
    sales: list[Sale]
    details: list[Detail]
    pilots: dict[str, int]
    """experiment_users.csv: user id -> pilot (0 or 1)."""


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as file:
        header, *rows = csv.reader(file)
    return header, rows


def read_dataset(result: GeneratedData) -> Dataset:
    sales_header, sale_rows = read_rows(result.sales_path)
    details_header, detail_rows = read_rows(result.details_path)
    assert tuple(sales_header) == SALES_HEADER
    assert tuple(details_header) == DETAILS_HEADER
    users_header, user_rows = read_rows(result.experiment.users_path)
    assert tuple(users_header) == EXPERIMENT_USERS_HEADER
    sales = [Sale(int(i), d, int(p), int(k), int(c), u) for i, d, p, k, c, u in sale_rows]
    details = [Detail(int(i), g, int(c), d, u) for i, g, c, d, u in detail_rows]
    pilots = {user: int(pilot) for user, pilot in user_rows}
    assert len(pilots) == len(user_rows), "a user is listed twice"
    return Dataset(result, sales, details, pilots)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    out_dir = tmp_path_factory.mktemp("sales")
    return read_dataset(generate_sales_data(out_dir, sales=SALES, seed=42))


def details_by_sale(dataset: Dataset) -> dict[int, list[Detail]]:
    grouped: dict[int, list[Detail]] = defaultdict(list)
    for detail in dataset.details:
        grouped[detail.sale_id].append(detail)
    return grouped


def test_the_result_describes_the_files_that_were_written(dataset: Dataset) -> None:
    result = dataset.result
    assert result.sales_path.name == SALES_FILE
    assert result.details_path.name == DETAILS_FILE
    assert result.sales == len(dataset.sales) == SALES
    assert result.details == len(dataset.details)
    assert result.users == len({sale.user_id for sale in dataset.sales})


def test_files_start_with_the_exact_headers_and_use_bare_newlines(dataset: Dataset) -> None:
    sales_bytes = dataset.result.sales_path.read_bytes()
    details_bytes = dataset.result.details_path.read_bytes()
    assert sales_bytes.startswith(b"sale_id,date,count_pizza,count_drink,price,user_id\n")
    assert details_bytes.startswith(b"sale_id,good,price,date,user_id\n")
    assert b"\r" not in sales_bytes
    assert b"\r" not in details_bytes
    assert sales_bytes.endswith(b"\n")
    assert details_bytes.endswith(b"\n")


def test_every_detail_belongs_to_a_sale_and_every_sale_has_an_item(dataset: Dataset) -> None:
    sale_ids = {sale.sale_id for sale in dataset.sales}
    assert {detail.sale_id for detail in dataset.details} == sale_ids


def test_sale_counts_match_its_pizza_and_drink_rows(dataset: Dataset) -> None:
    pizza_names = {item.name for item in PIZZAS}
    grouped = details_by_sale(dataset)
    for sale in dataset.sales:
        goods = [detail.good for detail in grouped[sale.sale_id]]
        pizzas = sum(good in pizza_names for good in goods)
        assert (sale.count_pizza, sale.count_drink) == (pizzas, len(goods) - pizzas), sale


def test_sale_price_is_the_exact_sum_of_its_detail_prices(dataset: Dataset) -> None:
    grouped = details_by_sale(dataset)
    for sale in dataset.sales:
        assert sale.price == sum(detail.price for detail in grouped[sale.sale_id]), sale


def test_detail_rows_carry_the_date_and_user_of_their_sale(dataset: Dataset) -> None:
    sales = {sale.sale_id: sale for sale in dataset.sales}
    for detail in dataset.details:
        sale = sales[detail.sale_id]
        assert (detail.date, detail.user_id) == (sale.date, sale.user_id), detail


def test_goods_and_prices_come_from_the_menu(dataset: Dataset) -> None:
    for detail in dataset.details:
        assert MENU_PRICES.get(detail.good) == detail.price, detail
    assert {detail.good for detail in dataset.details} == set(MENU_PRICES)


def test_orders_have_one_to_five_pizzas_mostly_one_or_two_and_often_no_drink(
    dataset: Dataset,
) -> None:
    pizzas = Counter(sale.count_pizza for sale in dataset.sales)
    drinks = Counter(sale.count_drink for sale in dataset.sales)
    assert set(pizzas) == {1, 2, 3, 4, 5}
    assert set(drinks) == {0, 1, 2, 3, 4}
    assert pizzas[1] + pizzas[2] > 0.7 * SALES
    assert drinks[0] == max(drinks.values())


def test_user_ids_are_six_lowercase_hex_digits_and_some_start_with_zero(
    dataset: Dataset,
) -> None:
    users = {sale.user_id for sale in dataset.sales}
    assert all(USER_ID.match(user) for user in users)
    assert any(user.startswith("0") for user in users)


def test_sale_ids_count_up_from_one_in_time_order(dataset: Dataset) -> None:
    assert [sale.sale_id for sale in dataset.sales] == list(range(1, SALES + 1))
    dates = [sale.date for sale in dataset.sales]
    # The fixed-width format makes text order the same as time order.
    assert dates == sorted(dates)


def test_dates_are_well_formed_and_span_the_requested_days(dataset: Dataset) -> None:
    stamps = [dt.datetime.strptime(sale.date, STAMP) for sale in dataset.sales]
    assert all(
        stamp.strftime(STAMP) == sale.date
        for stamp, sale in zip(stamps, dataset.sales, strict=True)
    )
    days = {stamp.date() for stamp in stamps}
    assert min(days) == START
    assert max(days) == START + dt.timedelta(days=DAYS - 1)
    assert len(days) > 0.95 * DAYS


def test_nights_are_quiet_and_lunch_and_dinner_are_peaks(dataset: Dataset) -> None:
    hours = Counter(int(sale.date[11:13]) for sale in dataset.sales)
    night = sum(hours[hour] for hour in range(2, 6))
    assert night < 0.01 * SALES
    assert hours[12] > 2 * hours[15]
    assert hours[19] > 2 * hours[15]
    assert hours[19] > hours[12]


def test_fridays_and_saturdays_are_busier_than_monday_to_thursday(dataset: Dataset) -> None:
    per_day = Counter(sale.date[:10] for sale in dataset.sales)
    by_weekday: dict[int, list[int]] = defaultdict(list)
    for day in range(DAYS):
        date = START + dt.timedelta(days=day)
        by_weekday[date.weekday()].append(per_day[date.isoformat()])
    weekend = [count for weekday in (4, 5) for count in by_weekday[weekday]]
    midweek = [count for weekday in (0, 1, 2, 3) for count in by_weekday[weekday]]
    assert sum(weekend) / len(weekend) > 1.2 * sum(midweek) / len(midweek)


def test_the_second_year_sells_more_than_the_first(dataset: Dataset) -> None:
    years = Counter(sale.date[:4] for sale in dataset.sales)
    assert years["2023"] > 1.1 * years["2022"]


def test_a_few_regulars_make_many_sales_and_most_users_are_rare(dataset: Dataset) -> None:
    per_user = sorted(Counter(sale.user_id for sale in dataset.sales).values(), reverse=True)
    top_tenth = per_user[: len(per_user) // 10]
    assert sum(top_tenth) > 0.3 * SALES
    assert sum(count == 1 for count in per_user) > 0.3 * len(per_user)
    assert per_user[0] < 0.02 * SALES


def test_the_number_of_users_grows_with_the_number_of_sales(
    dataset: Dataset, tmp_path: Path
) -> None:
    fewer = generate_sales_data(tmp_path, sales=SALES // 10, seed=42)
    assert 5 < dataset.result.users / fewer.users < 15


def test_the_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    first = generate_sales_data(tmp_path / "a", sales=3_000, seed=7)
    second = generate_sales_data(tmp_path / "b", sales=3_000, seed=7)
    assert first.sales_path.read_bytes() == second.sales_path.read_bytes()
    assert first.details_path.read_bytes() == second.details_path.read_bytes()


def test_a_different_seed_gives_different_files(tmp_path: Path) -> None:
    first = generate_sales_data(tmp_path / "a", sales=3_000, seed=7)
    second = generate_sales_data(tmp_path / "b", sales=3_000, seed=8)
    assert first.sales_path.read_bytes() != second.sales_path.read_bytes()
    assert first.details_path.read_bytes() != second.details_path.read_bytes()


@pytest.mark.parametrize(
    ("sales", "days"),
    [(1, 730), (5, 730), (999, 365), (1_234, 1), (7, 7)],
)
def test_exactly_the_requested_number_of_sales_is_written(
    tmp_path: Path, sales: int, days: int
) -> None:
    start = dt.date(2024, 2, 28)
    data = read_dataset(generate_sales_data(tmp_path, sales=sales, start=start, days=days))
    assert data.result.sales == len(data.sales) == sales
    assert [sale.sale_id for sale in data.sales] == list(range(1, sales + 1))
    end = (start + dt.timedelta(days=days)).isoformat()
    assert all(start.isoformat() <= sale.date < end for sale in data.sales)


def test_progress_reports_add_up_to_the_sales_written(tmp_path: Path) -> None:
    sales = 2 * PROGRESS_EVERY + 123
    reports: list[int] = []
    generate_sales_data(tmp_path, sales=sales, progress=reports.append)
    assert reports == [PROGRESS_EVERY, PROGRESS_EVERY, 123]


def test_memory_does_not_grow_with_the_number_of_sales(tmp_path: Path) -> None:
    peaks = []
    for sales in (5_000, 50_000):
        tracemalloc.start()
        try:
            generate_sales_data(tmp_path, sales=sales)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    # Ten times the sales; only the user pool may grow, and it is small next to held rows.
    assert peaks[1] < 1.5 * peaks[0], peaks


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    generate_sales_data(tmp_path / "out", sales=100)
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ALL_FILES


def test_a_failed_run_keeps_the_old_files_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    old = generate_sales_data(tmp_path, sales=100, seed=1)
    old_sales, old_details = old.sales_path.read_bytes(), old.details_path.read_bytes()

    def interrupt(_: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_sales_data(tmp_path, sales=PROGRESS_EVERY + 1, seed=2, progress=interrupt)

    assert sorted(path.name for path in tmp_path.iterdir()) == ALL_FILES
    assert old.sales_path.read_bytes() == old_sales
    assert old.details_path.read_bytes() == old_details


def test_a_new_run_replaces_the_old_files(tmp_path: Path) -> None:
    generate_sales_data(tmp_path, sales=500, seed=1)
    new = generate_sales_data(tmp_path, sales=50, seed=2)
    assert len(read_dataset(new).sales) == 50


@pytest.mark.parametrize(
    ("sales", "days", "lift", "named"),
    [
        (0, 730, 0.3, "sales"),
        (-5, 730, 0.3, "sales"),
        (100, 0, 0.3, "days"),
        (100, -1, 0.3, "days"),
        (100, 730, -0.1, "lift"),
        (100, 730, float("nan"), "lift"),
    ],
)
def test_invalid_arguments_are_refused_with_a_message_naming_them(
    tmp_path: Path, sales: int, days: int, lift: float, named: str
) -> None:
    with pytest.raises(ValueError, match=rf"^{named} "):
        generate_sales_data(tmp_path / "out", sales=sales, days=days, lift=lift)
    assert not (tmp_path / "out").exists()


# ---- The planted experiment ------------------------------------------------------------

WINDOW_START = "2023-10-01"


def in_window(sale: Sale) -> bool:
    return sale.date >= WINDOW_START


def test_the_experiment_is_the_last_quarter_with_the_quarter_before_as_its_pre_period(
    dataset: Dataset,
) -> None:
    experiment = dataset.result.experiment
    assert experiment.users_path.name == EXPERIMENT_USERS_FILE
    assert (experiment.start, experiment.end) == (dt.date(2023, 10, 1), dt.date(2023, 12, 31))
    assert experiment.start is not None
    assert experiment.end is not None
    assert (experiment.end - experiment.start).days + 1 == EXPERIMENT_DAYS
    assert experiment.pre_period == (dt.date(2023, 7, 1), dt.date(2023, 9, 30))
    assert experiment.lift == TREATMENT_LIFT


def test_the_experiment_users_are_those_who_ordered_before_it_about_half_of_them_pilots(
    dataset: Dataset,
) -> None:
    before = {sale.user_id for sale in dataset.sales if not in_window(sale)}
    experiment = dataset.result.experiment
    assert set(dataset.pilots) == before
    assert set(dataset.pilots.values()) == {0, 1}
    assert (experiment.control, experiment.treatment) == (
        sum(pilot == 0 for pilot in dataset.pilots.values()),
        sum(pilot == 1 for pilot in dataset.pilots.values()),
    )
    # A fair coin per user: within 3.3 standard deviations of half (about 1 in 1000 fails).
    users = len(dataset.pilots)
    assert abs(experiment.treatment - users / 2) < 3.3 * (users / 4) ** 0.5


def test_pilots_order_more_often_during_the_window_and_not_before(dataset: Dataset) -> None:
    def orders_per_user(pilot: int, window: bool) -> float:
        group = {user for user, value in dataset.pilots.items() if value == pilot}
        orders = sum(
            1 for sale in dataset.sales if sale.user_id in group and in_window(sale) == window
        )
        return orders / len(group)

    during = orders_per_user(1, True) / orders_per_user(0, True)
    before = orders_per_user(1, False) / orders_per_user(0, False)
    assert during > 1.1 * before


def test_the_planted_effect_changes_only_who_placed_the_windows_orders(tmp_path: Path) -> None:
    without = read_dataset(generate_sales_data(tmp_path / "a", sales=4_000, seed=5, lift=0.0))
    planted = read_dataset(generate_sales_data(tmp_path / "b", sales=4_000, seed=5, lift=1.0))

    def fields(sale: Sale) -> tuple[object, ...]:
        return (sale.sale_id, sale.date, sale.count_pizza, sale.count_drink, sale.price)

    assert [fields(sale) for sale in without.sales] == [fields(sale) for sale in planted.sales]
    assert [s for s in without.sales if not in_window(s)] == [
        s for s in planted.sales if not in_window(s)
    ]
    assert [s.user_id for s in without.sales if in_window(s)] != [
        s.user_id for s in planted.sales if in_window(s)
    ]
    assert len(without.details) == len(planted.details)
    assert without.pilots == planted.pilots


def test_data_too_short_for_a_window_lists_no_experiment_users(tmp_path: Path) -> None:
    data = read_dataset(generate_sales_data(tmp_path, sales=50, days=1))

    assert data.pilots == {}
    assert (data.result.experiment.start, data.result.experiment.pre_period) == (None, None)
