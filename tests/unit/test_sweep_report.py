"""The end of a sweep: a table with a row per point, the search's verdicts, and the time the session saved."""

from __future__ import annotations

from rich.console import Console

from specbench.report.sweep import render_search, render_session_times, render_sweep_table
from specbench.results.model import BenchmarkResult, EngineSection, IndexEntry, RunSection
from specbench.results.sweep import ProbeOutcome, SearchSummary, SessionSummary

FIGURES = {
    "achieved_rate": 9.81,
    "request_throughput": 9.5,
    "output_throughput": 1216.0,
    "request_goodput": 9.1,
    "mean_ttft_ms": 41.2,
    "p99_ttft_ms": 180.4,
    "mean_tpot_ms": 12.3,
    "p99_tpot_ms": 19.9,
}


def result(status: str = "completed", **metrics: float) -> BenchmarkResult:
    return BenchmarkResult(
        run=RunSection(id="run", status=status),
        engine=EngineSection(name="echo", model="none", method="target-ar"),
        metrics={**FIGURES, **metrics},
    )


def entry(rate: float | str, status: str = "completed", error: str | None = None) -> IndexEntry:
    return IndexEntry(
        label=f"rate {rate}",
        status=status,
        result_file=None if error else f"r{rate}.json",
        settings={"workload.rate": rate, "workload.max_concurrency": None},
        error=error,
    )


def rendered(draw) -> str:
    console = Console(record=True, width=80)
    draw(console)
    return console.export_text()


def table_rows(text: str) -> dict[str, list[str]]:
    """Rows of the table by their first cell; the table is indented, the notes below it are not."""
    return {parts[0]: parts for line in text.splitlines() if line.startswith(" ") and (parts := line.split())}


def test_the_sweep_table_has_a_row_per_point_with_rates_throughputs_goodput_and_latencies():
    entries = [entry("inf"), entry(10.0), entry(20.0, "interrupted"), entry(30.0, "failed", "OOM at 30")]
    results = {0: result(request_throughput=31.0), 1: result(), 2: result("interrupted")}
    text = rendered(lambda c: render_sweep_table(entries, results, c, tail="p99", title="4 points"))
    rows = table_rows(text)
    assert rows["1"][1:4] == ["inf", "burst", "31.00"]  # every request at once: no send rate to speak of
    assert rows["2"][1:] == ["10", "9.81", "9.50", "1216", "9.10", "41.20", "/", "180", "12.30", "/", "19.90"]
    assert rows["3*"][1] == "20"
    assert rows["4"][1:] == ["30", "failed"]
    assert "4 (rate 30.0) failed: OOM at 30" in text
    assert "3* interrupted" in text


def test_the_search_says_the_rate_found_its_bracket_and_every_verdict():
    entries = [entry("inf"), entry(40.0, "interrupted"), entry(20.0), entry(28.3)]
    probes = [
        ProbeOutcome(entry=1, rate=40.0, sent_rate=39.0, verdict="fail", planned_s=30.0, duration_s=4.1,
                     stopped_early="the queue kept growing", reason="stopped early: the queue kept growing",
                     goodput_fraction=0.3, counted_requests=120),
        ProbeOutcome(entry=2, rate=20.0, sent_rate=19.6, verdict="pass", planned_s=30.0, duration_s=30.2,
                     goodput_fraction=0.99, counted_requests=590, reason="99.0% met"),
        ProbeOutcome(entry=3, rate=28.3, sent_rate=27.9, verdict="fail", planned_s=30.0, duration_s=30.1,
                     goodput_fraction=0.93, counted_requests=830, reason="93.0% of 830 met every SLO"),
    ]  # fmt: skip
    search = SearchSummary(
        slo={"ttft_ms": 500.0, "tpot_ms": 50.0},
        goodput_target=0.95,
        rate_precision=0.05,
        max_rate=20.0,
        bracket=[20.0, 28.3],
        chosen_entry=2,
        stop_reason="stopped after 4 probes (--max-probes)",
        probes=probes,
    )
    results = {2: result()}
    text = rendered(lambda c: render_search(search, entries, results, c, tail="p99"))
    assert "SLO search: TTFT ≤ 500 ms, TPOT ≤ 50 ms for at least 95% of requests" in text
    assert "Highest rate meeting the SLOs: 20 req/s (bracket 20 – 28.3 req/s, precision 5%" in text
    assert "went out at 19.6 req/s" in text
    rows = table_rows(text.split("Highest rate")[0])  # the probes' table, not the figures at the end
    assert [rows[number][3] for number in ("2", "3", "4")] == ["stopped", "pass", "fail"]
    assert rows["2"][4:] == ["30.0%", "120", "4.10", "/", "30.0"]
    assert "2: stopped early: the queue kept growing" in text
    assert "Figures at the rate found" in text


def test_a_search_that_found_nothing_says_so():
    search = SearchSummary(
        slo={"e2el_ms": 100.0}, goodput_target=0.9, rate_precision=0.05, bracket=[None, 1.0],
        stop_reason="no rate down to 1 req/s met the target: the SLOs are out of this setup's reach",
    )  # fmt: skip
    text = rendered(lambda c: render_search(search, [], {}, c, tail="p99"))
    assert "No probed rate met the SLOs" in text and "out of this setup's reach" in text


def test_the_time_saved_is_the_engine_start_times_the_points_after_the_first():
    session = SessionSummary(
        kind="sweep", engine_start_s=95.0, entries=[0, 1, 2, 3], point_wall_s=[5, 10, 20, 30]
    )
    text = rendered(lambda c: render_session_times([session], c))
    assert "engine started once in 95.0 s; 4 points took 65.0 s" in text
    assert "95.0 s × 3 = 285.0 s" in text
    assert session.model_dump()["restart_cost_s"] == 285.0


def test_the_search_names_its_confirmation_and_says_where_it_stepped_down():
    entries = [entry(30.0), entry(36.0), entry(30.0), entry(28.6)]
    probes = [
        ProbeOutcome(entry=0, rate=30.0, sent_rate=29.1, verdict="pass", planned_s=30.0, duration_s=30.1,
                     goodput_fraction=0.96, counted_requests=800, reason="96.0% met"),
        ProbeOutcome(entry=1, rate=36.0, sent_rate=35.0, verdict="fail", planned_s=30.0, duration_s=30.1,
                     goodput_fraction=0.80, counted_requests=900, reason="80.0% met"),
        ProbeOutcome(entry=2, rate=30.0, sent_rate=30.1, verdict="fail", planned_s=120.0, duration_s=120.2,
                     goodput_fraction=0.92, counted_requests=3500, reason="92.0% met", confirmation=True),
        ProbeOutcome(entry=3, rate=28.6, sent_rate=28.5, verdict="pass", planned_s=120.0, duration_s=120.1,
                     goodput_fraction=0.962, counted_requests=3400, reason="96.2% met", confirmation=True,
                     transient_s=0.4),
    ]  # fmt: skip
    search = SearchSummary(
        slo={"ttft_ms": 130.0},
        goodput_target=0.95,
        rate_precision=0.05,
        max_rate=28.6,
        bracket=[30.0, 36.0],
        chosen_entry=3,
        confirmation=probes[-1],
        stop_reason="converged; the confirmation failed at 30 req/s: stepped down to 28.6",
        probes=probes,
    )
    text = rendered(lambda c: render_search(search, entries, {3: result()}, c, tail="p99"))
    rows = table_rows(text.split("Highest rate")[0])
    assert rows["3"][3:5] == ["fail", "(confirm)"] and rows["4"][3:5] == ["pass", "(confirm)"]
    flat = " ".join(text.split())
    assert "Highest rate meeting the SLOs: 28.6 req/s (below the bisection's bracket 30 – 36 req/s" in flat
    assert "stepped down to 28.6" in flat
    assert "Confirmed by 120 s at 28.6 req/s: 96.2% of 3400 requests met every SLO after a 0.4 s" in flat
