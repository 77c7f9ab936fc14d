"""Several engines, methods, rates or concurrencies in one invocation: each engine × method is an engine
session, each rate × concurrency a point inside it; everything else takes one value."""

from __future__ import annotations

import pytest

from specbench.errors import ConfigError
from specbench.settings import resolve_plan


def plan(flags: dict | None = None, environ: dict | None = None, profile: str | None = None):
    return resolve_plan(profile=profile, flags=flags or {}, flag_names={}, environ=environ or {})


def test_one_value_each_is_a_single_run():
    single = plan({"engine": "echo"}).single
    assert single is not None and single.config.engine.value == "echo"


def test_engines_and_methods_make_one_session_per_combination():
    result = plan({"engine": ["echo", "transformers"], "method": ["target-ar", "prompt-lookup"]})
    combos = [(s.config.engine.value, s.config.method.value) for s in result.sessions]
    assert combos == [
        ("echo", "target-ar"),
        ("echo", "prompt-lookup"),
        ("transformers", "target-ar"),
        ("transformers", "prompt-lookup"),
    ]
    assert result.varied == ("engine", "method")
    assert all(len(session.points) == 1 for session in result.sessions)


def test_rates_and_concurrencies_are_points_of_one_session_in_order():
    result = plan({"engine": "echo", "workload.rate": [1.0, 4.0], "workload.max_concurrency": [1, 8]})
    (session,) = result.sessions
    points = [(p.config.workload.rate, p.config.workload.max_concurrency) for p in session.points]
    assert points == [(1.0, 1), (1.0, 8), (4.0, 1), (4.0, 8)]
    assert result.varied == ("workload.rate", "workload.max_concurrency")


def test_auto_rate_of_the_original_tool_takes_a_list_too():
    result = plan(environ={"AUTO_RATE": "2,8", "INFERENCE_ENGINE": "echo"})
    assert [p.config.workload.rate for p in result.sessions[0].points] == [2.0, 8.0]
    assert result.sessions[0].points[0].sources["workload.rate"] == "env AUTO_RATE"


def test_a_repeated_value_is_refused_rather_than_silently_dropped():
    with pytest.raises(ConfigError, match=r"engine .* lists echo twice: give each value once"):
        plan({"engine": ["echo", "echo"]})


def test_a_list_where_one_value_belongs_is_refused(tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text("workload:\n  input_len: [8, 16]\n")
    with pytest.raises(ConfigError, match=r"workload\.input_len .* takes one value"):
        plan(profile=str(profile))


def test_every_combination_is_validated_before_anything_runs():
    with pytest.raises(ConfigError, match="rate"):
        plan({"engine": "echo", "workload.rate": [1.0, -1.0]})


def test_k_and_acceptance_axes_make_a_session_each_but_one_shared_ar_session():
    flags = {
        "engine": "echo",
        "method": ["target-ar", "speculative"],
        "speculative.num_speculative_tokens": [1, 3],
        "speculative.synthetic_acceptance_length": [1.5, 2.5],
    }
    plan = resolve_plan(profile=None, flags=flags, flag_names={}, environ={})
    sessions = [
        (
            s.config.method.value,
            s.config.speculative.num_speculative_tokens,
            s.config.speculative.synthetic_acceptance_length,
        )
        for s in plan.sessions
    ]
    # K 1 reaches at most 2 tokens a step: 2.5 is left out and said so.
    assert sessions == [
        ("target-ar", 1, None),
        ("speculative", 1, 1.5),
        ("speculative", 3, 1.5),
        ("speculative", 3, 2.5),
    ]
    assert plan.skipped == ("K 1 with acceptance length 2.5 left out: K drafts reach at most K + 1",)


def test_per_position_rates_are_one_setting_not_an_axis():
    flags = {"engine": "echo", "method": "speculative", "speculative.num_speculative_tokens": 2}
    flags["speculative.synthetic_acceptance_rates"] = [0.9, 0.4]
    plan = resolve_plan(profile=None, flags=flags, flag_names={}, environ={})
    assert plan.single is not None
    assert plan.single.config.speculative.synthetic_acceptance_rates == [0.9, 0.4]


def test_a_k_axis_without_a_speculative_method_measures_ar_once():
    flags = {"engine": "echo", "speculative.num_speculative_tokens": [1, 3]}
    plan = resolve_plan(profile=None, flags=flags, flag_names={}, environ={})
    assert len(plan.sessions) == 1


def test_prompts_per_concurrency_scales_each_points_request_count():
    flags = {"engine": "echo", "workload.max_concurrency": [1, 8], "workload.prompts_per_concurrency": 4}
    plan = resolve_plan(profile=None, flags=flags, flag_names={}, environ={})
    assert [p.config.workload.num_requests for p in plan.sessions[0].points] == [4, 32]
