"""The web page in a real browser (Debian's Chromium, driven by Playwright) against the real
app, PostgreSQL, Redis and a worker process. Screenshots of each main view go to
tests/.screenshots/ (the README shows copies from docs/screenshots/)."""

from __future__ import annotations

import csv
import json
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from entrypoints.config.settings import Settings
from entrypoints.http.app import create_app
from tests.browser.conftest import CHROMIUM
from tests.support.live_server import serving
from tests.support.service_app import settings_with
from tests.support.worker_process import running_worker

SCREENSHOTS = Path(__file__).parents[1] / ".screenshots"
# Flags for a sandboxed machine without a network: no background requests, no GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def system(service_env: dict[str, str]) -> Iterator[str]:
    env = {**service_env, "METRIC_ITERATIONS": str(5 * 10**6)}
    with running_worker(env, concurrency=1), serving(create_app(Settings.from_env(env))) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, system: str) -> Iterator[Page]:
    context = browser.new_context(base_url=system, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # What the Content Security Policy refused, had it refused anything the page needs.
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    assert not errors, errors


def api(base_url: str, path: str) -> Any:
    with urllib.request.urlopen(base_url + path) as response:
        return json.load(response)


def post(base_url: str, path: str) -> Any:
    request = urllib.request.Request(base_url + path, method="POST")
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=False)


def test_browsing_a_table_shows_the_rows_the_api_returns(page: Page, system: str) -> None:
    page.goto("/")
    page.get_by_test_id("table-item").filter(has_text="df_sales_detail").first.wait_for()
    names = page.get_by_test_id("table-item").evaluate_all(
        "items => items.map(i => i.dataset.name)"
    )

    page.locator('[data-testid="table-item"][data-name="df_sales"]').click()

    rows = page.get_by_test_id("logs-row")
    expect(rows).to_have_count(100)
    expected = api(system, "/logs?table_name=df_sales")["rows"]
    first_cells = rows.first.locator("td").all_inner_texts()
    assert sorted(names) == ["df_sales", "df_sales_detail", "experiment_users"]
    assert first_cells[0].replace(",", "").replace("\u2009", "").strip() == str(
        expected[0]["sale_id"]
    )
    assert "table=df_sales" in page.url
    screenshot(page, "tables")


def test_filters_match_the_api_and_live_in_the_url(
    page: Page, system: str, seeded_data_dir: Path
) -> None:
    with (seeded_data_dir / "df_sales_detail.csv").open(newline="") as file:
        user, _ = Counter(row["user_id"] for row in csv.DictReader(file)).most_common(1)[0]
    page.goto("/?tab=tables&table=df_sales_detail")
    expect(page.get_by_test_id("logs-row")).to_have_count(100)

    page.get_by_test_id("filter-user-id").fill(user)
    page.get_by_test_id("filter-from-date").fill("2023-01-01")
    page.get_by_test_id("filter-apply").click()

    expected = api(system, f"/logs?table_name=df_sales_detail&user_id={user}&from_date=2023-01-01")
    rows = page.get_by_test_id("logs-row")
    expect(rows).to_have_count(expected["count"])
    assert expected["count"] > 0
    assert f"user_id={user}" in page.url
    assert "from_date=2023-01-01" in page.url
    assert all(user in text for text in rows.all_inner_texts())

    shared = page.url
    page.goto("/")
    page.goto(shared)
    expect(page.get_by_test_id("logs-row")).to_have_count(expected["count"])
    expect(page.get_by_test_id("filter-user-id")).to_have_value(user)


def test_older_records_follow_the_api_cursor(page: Page, system: str) -> None:
    page.goto("/?tab=tables&table=df_sales")
    expect(page.get_by_test_id("logs-row")).to_have_count(100)

    page.get_by_test_id("logs-older").click()

    first = api(system, "/logs?table_name=df_sales")
    second = api(system, f"/logs?table_name=df_sales&cursor={first['next_cursor']}")
    expect(page.get_by_test_id("logs-row").first).to_contain_text(
        f"{second['rows'][0]['sale_id']:,}".replace(",", "")[:2]
    )
    assert f"cursor={first['next_cursor']}" in page.url


def test_a_bad_date_gets_a_readable_error_next_to_the_filter(page: Page) -> None:
    page.goto("/?tab=tables&table=df_sales&from_date=2023-02-30")

    error = page.get_by_test_id("filter-error")

    expect(error).to_be_visible()
    expect(error).to_contain_text("From date")
    expect(error).to_contain_text("not a valid date")
    expect(page.get_by_test_id("filter-from-date")).to_have_attribute("aria-invalid", "true")


def test_a_launched_job_runs_live_to_the_exact_result(page: Page, system: str) -> None:
    page.goto("/?tab=jobs")
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "live")

    page.get_by_test_id("launch").click()

    job = page.get_by_test_id("job").first
    expect(job).to_have_attribute("data-status", "running", timeout=20_000)
    screenshot(page, "jobs-running")
    expect(job).to_have_attribute("data-status", "succeeded", timeout=60_000)
    job_id = job.get_attribute("data-job-id")
    result = api(system, f"/jobs/{job_id}")["result"]
    expect(job.get_by_test_id("job-result")).to_have_attribute("data-value", result)
    expect(job.get_by_test_id("job-progress")).to_have_attribute("aria-valuenow", "100")
    screenshot(page, "jobs")


def test_a_queued_job_can_be_cancelled_from_the_page(page: Page, system: str) -> None:
    page.goto("/?tab=jobs")
    page.get_by_test_id("launch").click()
    page.get_by_test_id("launch").click()
    jobs = page.get_by_test_id("job")
    expect(jobs).to_have_count(2)
    queued = page.locator('[data-testid="job"][data-status="queued"]').first
    job_id = queued.get_attribute("data-job-id")

    queued.get_by_test_id("job-cancel").click()

    cancelled = page.locator(f'[data-testid="job"][data-job-id="{job_id}"]')
    expect(cancelled).to_have_attribute("data-status", "cancelled")
    assert api(system, f"/jobs/{job_id}")["status"] == "cancelled"


def test_a_finished_job_runs_again_from_the_page(page: Page, system: str) -> None:
    original = post(system, "/launch")["job_id"]
    page.goto("/?tab=jobs")
    first = page.locator(f'[data-testid="job"][data-job-id="{original}"]')
    expect(first).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(first.get_by_test_id("created")).to_contain_text(":")

    first.get_by_test_id("job-rerun").click()

    jobs = page.get_by_test_id("job")
    expect(jobs).to_have_count(2)
    rerun = jobs.first
    expect(rerun).to_have_attribute("data-status", "succeeded", timeout=60_000)
    rerun_id = rerun.get_attribute("data-job-id")
    assert rerun_id != original
    assert api(system, f"/jobs/{rerun_id}")["rerun_of"] == original
    expect(first.get_by_test_id("job-rerun")).to_be_visible()


def test_jobs_are_filtered_by_status_and_metric(page: Page, system: str) -> None:
    launched = [post(system, "/launch")["job_id"] for _ in range(4)]
    cancelled = launched[2:]
    for job_id in cancelled:
        post(system, f"/jobs/{job_id}/cancel")
    page.goto("/?tab=jobs")
    expect(page.get_by_test_id("job")).to_have_count(4)

    page.get_by_test_id("filter-cancelled").check()

    shown = page.get_by_test_id("job")
    expect(shown).to_have_count(2)
    assert sorted(shown.evaluate_all("items => items.map(i => i.dataset.jobId)")) == sorted(
        cancelled
    )
    page.get_by_test_id("filter-metric").select_option("ab_test")
    expect(page.get_by_test_id("jobs-none-match")).to_be_visible()
    expect(shown).to_have_count(0)
    page.get_by_test_id("filter-metric").select_option("")
    page.get_by_test_id("filter-cancelled").uncheck()
    expect(shown).to_have_count(4)


def test_every_queued_job_is_cancelled_at_once_after_a_confirmation(
    page: Page, system: str
) -> None:
    for _ in range(5):
        post(system, "/launch")
    page.goto("/?tab=jobs")
    expect(page.get_by_test_id("job")).to_have_count(5)
    questions: list[str] = []

    def answer(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.get_by_test_id("cancel-queued").click()

    expect(page.get_by_test_id("jobs-message")).to_contain_text("Cancelled")
    listed = api(system, "/jobs")["jobs"]
    [asked] = questions
    count = int(asked.split()[1])
    assert asked == f"Cancel {count} queued jobs? They will not run."
    assert not [job for job in listed if job["status"] == "queued"]
    # A job may have started between the listing and its cancel: it is asked to stop.
    assert sum(job["cancel_requested"] for job in listed) == count >= 2


def test_the_page_works_on_a_phone_sized_screen(browser: Browser, system: str) -> None:
    context = browser.new_context(base_url=system, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto("/?tab=tables&table=df_sales")
    expect(page.get_by_test_id("logs-row")).to_have_count(100)

    width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, "phone")
    page.goto("/?tab=experiments")
    expect(page.get_by_test_id("param-table")).to_have_value("df_sales")
    experiments_width = page.evaluate("document.documentElement.scrollWidth")
    context.close()

    assert width <= 390
    assert experiments_width <= 390


def test_launch_says_so_when_the_queue_is_down(
    browser: Browser, settings_for_down: Settings
) -> None:
    with serving(create_app(settings_for_down)) as base_url:
        context = browser.new_context(base_url=base_url)
        page = context.new_page()
        page.goto("/?tab=jobs")
        page.get_by_test_id("launch").click()
        message = (
            page.get_by_role("alert").or_(page.get_by_role("status")).filter(has_text="unavailable")
        )
        expect(message.first).to_be_visible()
        page.get_by_test_id("tab-tables").click()
        page.locator('[data-testid="table-item"][data-name="df_sales"]').click()
        expect(page.get_by_test_id("logs-row")).to_have_count(100)
        context.close()


@pytest.fixture
def settings_for_down(service_env: dict[str, str]) -> Settings:
    return settings_with(service_env, REDIS_URL="redis://127.0.0.1:1/0")


@pytest.mark.parametrize("path", ["/schema", "/schema/swagger"])
def test_the_api_docs_render_without_any_other_host(page: Page, system: str, path: str) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    page.goto(path)

    expect(page.get_by_text("The 100 latest records of a table").first).to_be_visible(
        timeout=20_000
    )
    assert [url for url in requests if not url.startswith((system, "data:", "blob:"))] == []


def test_with_tokens_the_page_asks_for_one_once_and_launches(
    browser: Browser, service_env: dict[str, str]
) -> None:
    settings = settings_with(service_env, API_TOKENS="page-token")
    with serving(create_app(settings)) as base_url:
        context = browser.new_context(base_url=base_url)
        page = context.new_page()
        asked: list[str] = []

        def answer(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.accept("page-token")

        page.on("dialog", answer)
        page.goto("/?tab=jobs")
        page.get_by_test_id("launch").click()
        expect(page.get_by_test_id("job")).to_have_count(1)
        page.get_by_test_id("launch").click()
        expect(page.get_by_test_id("job")).to_have_count(2)
        stored = page.evaluate("localStorage.getItem('experiments.token')")
        context.close()
    assert len(asked) == 1
    assert "token" in asked[0].lower()
    assert stored == "page-token"


def run_test(page: Page, *, value: str = "price", cuped: bool = True) -> None:
    """Fills the Experiments form for Q4 2023 on df_sales and runs it."""
    page.get_by_test_id("param-table").select_option("df_sales")
    expect(page.locator(f'#param-value option[value="{value}"]')).to_have_count(1)
    page.get_by_test_id("param-value").select_option(value)
    page.get_by_test_id("param-from_date").fill("2023-10-01")
    page.get_by_test_id("param-to_date").fill("2023-12-31")
    if cuped:
        page.get_by_test_id("param-cuped").check()
    page.get_by_test_id("experiment-launch").click()


def test_an_ab_test_run_from_the_experiments_view_is_drawn_and_said_in_words(
    page: Page, system: str
) -> None:
    page.goto("/?tab=experiments")
    expect(page.get_by_test_id("param-assignments-table")).to_have_value("experiment_users")
    expect(page.locator('[data-group="assignments"] summary')).to_contain_text(
        "experiment_users · user_id · pilot · 0 · 1"
    )

    run_test(page)

    run = page.get_by_test_id("experiment-run")
    expect(run).to_have_attribute("data-status", "succeeded", timeout=60_000)
    job_id = parse_qs(urlparse(page.url).query)["job"][0]
    job = api(system, f"/jobs/{job_id}")
    assert job["params"]["cuped"] is True
    cuped = job["result"]["cuped"]
    lift = f"{abs(cuped['relative_difference']) * 100:.1f}%"
    low = f"{cuped['ci_low'] / cuped['control']['mean'] * 100:.1f}%"
    verdict = page.get_by_test_id("experiment-verdict")
    expect(verdict).to_contain_text(f"The pilot group raises price per user by {lift}")
    expect(verdict).to_contain_text(f"95% CI {low} to")
    expect(verdict).to_contain_text("p < 0.001")
    chart = page.get_by_test_id("experiment-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("circle")).to_have_count(3)
    expect(chart).to_have_attribute("data-tone", "up")
    expect(page.get_by_test_id("srm-warning")).to_be_hidden()
    expect(page.get_by_test_id("experiment-progress")).to_have_attribute("aria-valuenow", "100")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "experiments")

    page.get_by_test_id("tab-jobs").click()
    summary = page.locator(f'[data-testid="job"][data-job-id="{job_id}"]').get_by_test_id(
        "job-summary"
    )
    expect(summary).to_contain_text(f"+{lift}")


def test_a_parameter_mistake_is_told_next_to_its_field_and_nothing_runs(
    page: Page, system: str
) -> None:
    page.goto("/?tab=experiments")
    page.get_by_test_id("param-table").select_option("df_sales")
    page.get_by_test_id("param-from_date").fill("2023-12-31")
    page.get_by_test_id("param-to_date").fill("2023-10-01")

    page.get_by_test_id("experiment-launch").click()

    error = page.locator("#param-from_date-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("after to_date")
    expect(page.get_by_test_id("param-from_date")).to_have_attribute("aria-invalid", "true")
    assert api(system, "/jobs")["jobs"] == []


def test_a_sample_ratio_mismatch_is_a_visible_warning(
    page: Page, system: str, seeded_data_dir: Path
) -> None:
    with (seeded_data_dir / "experiment_users.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    controls = [row for row in rows if row["pilot"] == "0"]
    kept = controls[: len(controls) * 4 // 5] + [row for row in rows if row["pilot"] == "1"]
    (seeded_data_dir / "srm_users.csv").write_text(
        "user_id,pilot\n" + "".join(f"{row['user_id']},{row['pilot']}\n" for row in kept)
    )
    page.goto("/?tab=experiments")
    expect(page.locator('#param-assignments-table option[value="srm_users"]')).to_have_count(1)
    page.get_by_text("Assignments", exact=True).click()
    page.get_by_test_id("param-assignments-table").select_option("srm_users")

    run_test(page, cuped=False)

    expect(page.get_by_test_id("experiment-run")).to_have_attribute(
        "data-status", "succeeded", timeout=60_000
    )
    warning = page.get_by_test_id("srm-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Sample ratio mismatch")
    expect(warning).to_contain_text(f"{len(controls) * 4 // 5:,} users in the control group")
