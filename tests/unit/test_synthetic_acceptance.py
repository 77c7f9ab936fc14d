"""--synthetic-acceptance: validated as vLLM validates it, passed to vLLM's speculative_config, refused in
one line where it cannot work, and marked wherever its acceptance figures appear."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from results_factory import make_result

from specbench.cli import main
from specbench.compare.facts import facts_of
from specbench.compare.fairness import unfair_differences
from specbench.config import Method, RunConfig, SpeculativeConfig
from specbench.engines.vllm.args import Platform, plan_engine
from specbench.errors import ConfigError


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"num_speculative_tokens": 3, "synthetic_acceptance_length": 4.5},
            r"outside \[1, K\+1\] = \[1, 4\]",
        ),
        ({"num_speculative_tokens": 3, "synthetic_acceptance_length": 0.5}, "outside"),
        ({"num_speculative_tokens": 3, "synthetic_acceptance_rates": [0.5, 0.6, 0.1]}, "non-increasing"),
        ({"num_speculative_tokens": 3, "synthetic_acceptance_rates": [0.9, 0.5]}, "2 rates for K = 3"),
        ({"num_speculative_tokens": 2, "synthetic_acceptance_rates": [1.2, 0.5]}, r"\[0, 1\]"),
        (
            {"synthetic_acceptance_length": 2, "synthetic_acceptance_rates": [0.5] * 5},
            "not both",
        ),
    ],
)
def test_synthetic_acceptance_is_refused_where_vllm_would_refuse_it(settings, message):
    with pytest.raises(ValidationError, match=message):
        SpeculativeConfig(**settings)


def test_a_length_of_k_plus_one_and_non_increasing_rates_are_accepted():
    assert SpeculativeConfig(num_speculative_tokens=3, synthetic_acceptance_length=4).synthetic
    assert SpeculativeConfig(num_speculative_tokens=2, synthetic_acceptance_rates=[0.8, 0.8]).synthetic


def test_vllm_gets_synthetic_rejection_sampling_in_its_speculative_config(tmp_path: Path):
    spec = SpeculativeConfig(num_speculative_tokens=3, synthetic_acceptance_length=2.5)
    config = RunConfig(
        engine="vllm", method=Method.speculative, model=tmp_path, draft_model=tmp_path, speculative=spec
    )
    plan = plan_engine(config, Platform("cuda", 1), {})
    assert plan.engine_kwargs["speculative_config"] == {
        "method": "draft_model",
        "model": str(tmp_path),
        "num_speculative_tokens": 3,
        "rejection_sample_method": "synthetic",
        "synthetic_acceptance_length": 2.5,
    }


def test_vllm_on_cpu_refuses_synthetic_acceptance_in_one_line(tmp_path: Path):
    spec = SpeculativeConfig(num_speculative_tokens=3, synthetic_acceptance_rates=[0.8, 0.5, 0.2])
    config = RunConfig(
        engine="vllm", method=Method.speculative, model=tmp_path, draft_model=tmp_path, speculative=spec
    )
    with pytest.raises(ConfigError, match="needs vLLM on a GPU"):
        plan_engine(config, Platform("cpu", 0), {})


@pytest.mark.parametrize(
    ("engine", "says"), [("transformers", "Transformers verifies"), ("openai", "vllm serve")]
)
def test_engines_that_cannot_set_acceptance_refuse_it_before_starting(engine, says, tmp_path, capsys):
    args = ["run", "--engine", engine, "--method", "target-ar,speculative", "--synthetic-acceptance", "2"]
    args += ["--output-dir", str(tmp_path), "--num-prompts", "1"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # nothing ran, nothing written


def test_vllms_cpu_build_refuses_it_in_a_dry_run_through_the_engines_own_check(tmp_path, capsys):
    vllm = pytest.importorskip("vllm")
    from specbench.engines.vllm.args import detect_platform

    if not detect_platform().is_cpu:
        pytest.skip(f"vLLM {vllm.__version__} here is not the CPU build")
    args = ["run", "--engine", "echo,vllm", "--method", "target-ar,speculative"]
    args += ["--synthetic-acceptance", "2", "--output-dir", str(tmp_path), "--dry-run"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "needs vLLM on a GPU" in err and "Traceback" not in err


def test_compare_warns_when_synthetic_acceptance_sits_beside_measured_acceptance():
    spec = {"spec_num_draft_tokens": 300, "spec_acceptance_rate": 0.5}
    synthetic = make_result(method="speculative", metrics=spec).model_copy(
        update={"config": {"speculative": {"synthetic_acceptance_length": 2.5}}}
    )
    measured = make_result(method="speculative", metrics=spec).model_copy(
        update={"config": {"speculative": {}}}
    )
    warnings = unfair_differences(["synthetic", "measured"], [facts_of(synthetic), facts_of(measured)])
    assert any("synthetic acceptance (synthetic) vs measured acceptance (measured)" in w for w in warnings)
    assert facts_of(make_result()).acceptance is None  # AR: no acceptance to compare


def test_summary_and_compare_header_say_the_acceptance_was_synthetic():
    from rich.console import Console

    from specbench.compare.facts import describe_facts
    from specbench.report.summary import render_summary

    spec = {"spec_num_draft_tokens": 300, "spec_acceptance_rate": 0.5, "spec_mean_acceptance_length": 2.5}
    result = make_result(method="speculative", metrics=spec).model_copy(
        update={"config": {"speculative": {"synthetic_acceptance_length": 2.5}}}
    )
    console = Console(record=True, width=120)
    render_summary(result, console)
    assert "synthetic acceptance: length 2.5 set, not measured" in console.export_text()
    assert describe_facts(facts_of(result))["acceptance"] == "synthetic"
