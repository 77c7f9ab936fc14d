"""The speculative report from real engines on CPU, through the real CLI: AR and speculative sessions of one
plan paired by load, for vLLM (ngram; draft = target, so every draft is accepted) and Transformers' assisted
generation. Small on purpose: a few requests of 16 tokens at concurrency 1 and 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specbench.cli import main
from specbench.tiny_model import TinyModels

VLLM_CPU = ["--kv-cache-space", "1", "--max-model-len", "512", "--enforce-eager"]
SMALL = ["--profile", "smoke", "--num-prompts", "2", "--warmup", "1", "--rate", "inf", "--settle-s", "0"]


def speculative_summary(out: Path, *args: str) -> dict:
    assert main(["run", *SMALL, "--method", "target-ar,speculative", "--output-dir", str(out), *args]) == 0
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return json.loads((run_dir / "index.json").read_text())["summary"]["speculative"]


@pytest.mark.vllm
@pytest.mark.slow
def test_vllm_draft_equal_to_target_accepts_every_draft_for_each_k(tmp_path: Path, tiny_models: TinyModels):
    pytest.importorskip("vllm")
    target = str(tiny_models.target)
    report = speculative_summary(
        tmp_path,
        "--engine", "vllm", *VLLM_CPU, "--model", target, "--draft-model", target,
        "--num-speculative-tokens", "1,2", "--max-concurrency", "1,2",
    )  # fmt: skip
    rows = {(row["variant"], row["load"]["max_concurrency"]): row for row in report["rows"]}
    assert set(rows) == {(f"K {k}", c) for k in (1, 2) for c in (1, 2)}
    for (variant, _), row in rows.items():
        k = int(variant.removeprefix("K "))
        # Greedy, and the draft is the target: every draft token is accepted, K + 1 tokens a step.
        assert row["acceptance_rate"] == 1.0
        assert row["mean_acceptance_length"] == pytest.approx(k + 1)
        assert row["speedup"] > 0 and row["step_ms"] > 0 and row["break_even_length"] > 0
        assert not row["synthetic"]
    assert [b["load_label"] for b in report["best"]] == ["concurrency 1", "concurrency 2"]


@pytest.mark.vllm
@pytest.mark.slow
def test_vllm_ngram_run_produces_the_report(tmp_path: Path):
    pytest.importorskip("vllm")
    report = speculative_summary(
        tmp_path, "--engine", "vllm", *VLLM_CPU, "--spec-method", "ngram", "--num-speculative-tokens", "2"
    )
    (row,) = report["rows"]
    assert row["variant"] == "ngram · K 2"
    assert row["ar_output_throughput"] > 0 and row["spec_output_throughput"] > 0
    assert row["speedup"] == pytest.approx(row["spec_output_throughput"] / row["ar_output_throughput"])
    assert len(row["acceptance_per_position"]) == 2


@pytest.mark.slow
def test_transformers_assisted_generation_produces_the_report(tmp_path: Path):
    pytest.importorskip("transformers")
    report = speculative_summary(
        tmp_path, "--engine", "transformers", "--num-speculative-tokens", "2", "--max-concurrency", "1,2"
    )
    assert [row["load_label"] for row in report["rows"]] == ["concurrency 1", "concurrency 2"]
    for row in report["rows"]:
        assert row["speedup"] == pytest.approx(row["spec_output_throughput"] / row["ar_output_throughput"])
        assert 1 <= row["mean_acceptance_length"] <= 3
        assert row["tpot_ratio"] > 0 and row["ttft_ratio"] > 0
    assert report["variants"][0]["break_even"]
