"""Reading wrk's summary, and the script that asks for it."""

from __future__ import annotations

import pytest

from benchmarks.wrk import parse, script


def test_parse_reads_the_summary_line_the_script_prints() -> None:
    output = (
        "Running 5s test @ http://127.0.0.1:8000/logs\n  2 threads and 32 connections\n"
        '{"requests": 1000, "duration_us": 5000000, "p50_us": 1500, "p99_us": 9000, '
        '"errors": 0, "bad_status": 2}\n'
    )
    result = parse(output)
    assert result.rate == 200.0
    assert result.p50 == pytest.approx(0.0015)
    assert result.p99 == pytest.approx(0.009)
    assert (result.errors, result.bad_status) == (0, 2)


def test_parse_refuses_output_without_a_summary() -> None:
    with pytest.raises(ValueError, match="no summary"):
        parse("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_script_sets_the_method_and_quotes_headers() -> None:
    text = script("POST", {"If-None-Match": '"logs-1"'})
    assert 'wrk.method = "POST"' in text
    assert 'wrk.headers["If-None-Match"] = "\\"logs-1\\""' in text
    assert "done = function(summary, latency, requests)" in text
