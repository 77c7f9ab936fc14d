"""--sweep: the saturation point first, then rates spread evenly up to what it measured."""

from __future__ import annotations

import math

import pytest

from specbench.config import DEFAULT_NUM_PROMPTS
from specbench.errors import ConfigError
from specbench.results.model import BenchmarkResult, EngineSection, RunSection
from specbench.results.sweep import SessionSummary
from specbench.session.points import ListedPoints, PointReport, PointSpec, with_rate
from specbench.session.sweep import (
    OVERLOAD,
    SUSTAINED,
    RateSweep,
    round_rate,
    saturation_point,
    sweep_rates,
)
from specbench.settings import ResolvedConfig, resolve_plan
from specbench.workload.builder import build_workload
from specbench.workload.tokenizer import SyntheticTokenizer
from tests.queue_reports import overloaded


def resolved(**flags: object) -> ResolvedConfig:
    plan = resolve_plan(profile=None, flags={"engine": "echo", **flags}, flag_names={}, environ={})
    return plan.sessions[0].points[0]


def measured(spec: PointSpec, throughput: float | None, entry: int = 0) -> PointReport:
    result = BenchmarkResult(
        run=RunSection(id="run", status="completed"),
        engine=EngineSection(name="echo", model="none", method="target-ar"),
        metrics={"request_throughput": throughput, "output_throughput": None},
    )
    return PointReport(spec, entry=entry, result=result)


def test_sweep_rates_are_evenly_spaced_up_to_the_saturation_throughput():
    assert sweep_rates(40.0, 4) == [10.0, 20.0, 30.0, 40.0]
    rates = sweep_rates(157.3, 6)
    steps = [b - a for a, b in zip([0.0, *rates], rates, strict=False)]
    assert rates[-1] == round_rate(157.3)
    assert max(steps) - min(steps) < 0.01 * 157.3  # equal steps, up to the rounding to 3 digits


def test_one_rate_is_the_saturation_throughput_itself():
    assert sweep_rates(12.34, 1) == [12.3]


def test_saturation_point_sends_every_request_at_once():
    point = saturation_point(resolved(**{"workload.num_prompts": 40}))
    assert math.isinf(point.config.workload.rate)
    assert point.config.workload.num_requests == 40


def test_in_rate_mode_the_saturation_point_sends_the_default_count():
    base = resolved(**{"workload.num_prompts": 0, "workload.duration": 20.0, "sweep.points": 3})
    point = saturation_point(base)
    assert point.config.workload.num_requests == DEFAULT_NUM_PROMPTS
    assert point.config.workload.duration is None


def test_sweep_measures_saturation_then_its_rates_in_order():
    base = resolved(**{"workload.num_prompts": 30, "sweep.points": 3})
    sweep = RateSweep(base)
    points = sweep.points()
    first = next(points)
    assert math.isinf(first.config.workload.rate)
    sustained = points.send(measured(first, 24.0))  # the burst: ramp-up and tail make it low
    assert sustained.config.workload.rate == OVERLOAD * 24.0
    assert sustained.resolved.sources["workload.rate"] == SUSTAINED
    rates = [points.send(overloaded(sustained, 30.0)).config.workload.rate]
    rates += [points.send(measured(first, 1.0)).config.workload.rate for _ in range(2)]
    assert rates == pytest.approx([10.0, 20.0, 30.0], rel=0.01)
    with pytest.raises(StopIteration):
        points.send(measured(first, 1.0))
    summary = SessionSummary(kind="sweep")
    sweep.summarize(summary)
    # The steady capacity under overload, not the burst's throughput.
    assert summary.saturation_throughput == pytest.approx(30.0, rel=0.01)
    assert summary.saturation_burst_throughput == 24.0 and summary.saturation_sustained


def test_an_overload_the_engine_kept_up_with_is_doubled_until_it_saturates():
    points = RateSweep(resolved(**{"workload.num_prompts": 30, "sweep.points": 2})).points()
    first = next(points)
    sustained = points.send(measured(first, 10.0))
    harder = points.send(overloaded(sustained, 40.0))  # 15 req/s: the engine kept up
    assert harder.resolved.sources["workload.rate"] == SUSTAINED
    assert harder.config.workload.rate == 2 * sustained.config.workload.rate
    harder = points.send(overloaded(harder, 40.0))  # 30 req/s: still
    lowest = points.send(overloaded(harder, 40.0))  # 60 req/s: a queue grows; capacity 40
    assert lowest.config.workload.rate == pytest.approx(40.0 / 2, rel=0.01)  # 2 rates up to 40


def test_a_failed_saturation_point_ends_the_sweep():
    base = resolved(**{"sweep.points": 3})
    points = RateSweep(base).points()
    first = next(points)
    with pytest.raises(StopIteration):
        points.send(PointReport(first, entry=0, error="RuntimeError: boom"))


def test_a_sweep_point_is_the_single_run_at_its_rate():
    """Same seed, same rate: the point's prompts and schedule are those of a plain `run --rate R`."""
    base = resolved(**{"workload.num_prompts": 25, "sweep.points": 2, "seed": 7})
    points = RateSweep(base).points()
    first = next(points)
    point = points.send(overloaded(points.send(measured(first, 20.0)), 20.0))
    single = resolved(**{"workload.num_prompts": 25, "workload.rate": 10.0, "seed": 7})
    tokenizer = SyntheticTokenizer()
    ours, theirs = build_workload(point.config, tokenizer), build_workload(single.config, tokenizer)
    assert [(r.scheduled_s, r.prompt_token_ids, r.max_tokens) for r in ours.requests] == [
        (r.scheduled_s, r.prompt_token_ids, r.max_tokens) for r in theirs.requests
    ]
    assert point.config.model_dump(exclude={"sweep"}) == single.config.model_dump(exclude={"sweep"})


def test_with_rate_says_where_the_rate_came_from_and_validates_again():
    base = resolved(**{"workload.num_prompts": 10})
    probe = with_rate(base, 5.0, "slo search probe", num_prompts=0, duration=3.0)
    assert probe.config.workload.num_requests is None
    assert probe.sources["workload.rate"] == probe.sources["workload.duration"] == "slo search probe"
    with pytest.raises(ValueError, match="needs --duration"):
        with_rate(base, 5.0, "x", num_prompts=0)


def test_listed_points_come_in_order_whatever_the_reports_say():
    specs = [PointSpec(resolved(**{"workload.rate": rate})) for rate in (1.0, 2.0)]
    points = ListedPoints(specs).points()
    assert next(points) is specs[0]
    assert points.send(PointReport(specs[0], error="failed")) is specs[1]
    with pytest.raises(StopIteration):
        points.send(PointReport(specs[1]))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"sweep.points": 3, "sweep.find_max_rate": True}, "pick one"),
        ({"sweep.find_max_rate": True}, "needs at least one SLO"),
        (
            {"sweep.find_max_rate": True, "slo.ttft_ms": 100.0, "workload.max_concurrency": 4},
            "drop --max-concurrency",
        ),
        ({"sweep.points": 0}, "greater than or equal to 1"),
        ({"sweep.goodput_target": 1.5}, "less than or equal to 1"),
    ],
)
def test_contradictory_sweep_settings_are_one_line_errors(flags, message):
    with pytest.raises(ConfigError, match=message):
        resolved(**flags)


def test_a_sweep_in_rate_mode_needs_no_rate():
    base = resolved(**{"workload.num_prompts": 0, "workload.duration": 10.0, "sweep.points": 2})
    assert math.isinf(base.config.workload.rate)


def test_conversation_sweep_rates_are_sessions_per_second():
    base = resolved(**{"workload.num_prompts": 30, "workload.turns": 4, "sweep.points": 2})
    points = RateSweep(base).points()
    saturation = next(points)
    report = measured(saturation, 40.0)  # 40 requests/s = 10 sessions/s of 4 turns
    assert report.result is not None
    report.result.workload = {"turns_per_session_mean": 4.0}
    sustained = points.send(report)
    first = points.send(overloaded(sustained, 40.0))  # the steady capacity: 40 requests/s again
    assert [first.config.workload.rate, next(points).config.workload.rate] == pytest.approx(
        [5.0, 10.0], rel=0.01
    )
