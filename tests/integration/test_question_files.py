"""A Spec-Bench-style evaluation through the real CLI: a question file of three categories, target-ar against
speculative decoding on the tiny model (real random weights, greedy), on Transformers and on vLLM.

What must hold: every result has per-category figures; per-request acceptance adds up to the engine's own
counters (overall and over the categories); Transformers' speculative outputs are the autoregressive ones
token for token; vLLM's identity rate is reported as measured (CPU kernels may legitimately differ).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from specbench.cli import main
from specbench.compare import compare_runs
from specbench.compare.categories import CategoryComparison
from specbench.results.readers import read_results
from specbench.runner.record_writer import read_records
from specbench.tiny_model import TinyModels

pytestmark = pytest.mark.slow
CATEGORIES = ("math", "translation", "writing")
QUESTIONS = [
    ("writing", ["Write a short story about a lighthouse keeper.", "Make it shorter."]),
    ("math", ["What is 12 times 7? Explain step by step.", "And 13 times 7?"]),
    ("translation", ["Translate German to English: Der Hund schläft im Garten."]),
    ("writing", ["Compose a poem about the sea at night, the sea at night."]),
    ("math", ["Solve x + 3 = 10 for x, then solve x + 4 = 10 for x."]),
    ("translation", ["Translate German to English: Ich trinke gern Kaffee."]),
]
SPEC_KEYS = {"spec_num_drafts": "drafts", "spec_num_draft_tokens": "drafted_tokens"}
SPEC_KEYS["spec_num_accepted_tokens"] = "accepted_tokens"
VLLM_CPU = ["--kv-cache-space", "1", "--max-model-len", "512", "--enforce-eager"]


def question_file(directory: Path) -> Path:
    """MT-bench / Spec-Bench layout: question_id, category, turns."""
    path = directory / "question.jsonl"
    lines = [
        json.dumps({"question_id": i, "category": category, "turns": turns})
        for i, (category, turns) in enumerate(QUESTIONS, start=1)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_questions(out: Path, *args: str) -> list[tuple[dict[str, Any], Path]]:
    """Run the plan; every result of it with its records file."""
    common = ["--dataset", str(question_file(out.parent)), "--num-prompts", "6", "--output-len", "12"]
    assert main(["run", *common, "--warmup", "1", "--output-dir", str(out), *args]) == 0
    (run_dir,) = [path for path in out.iterdir() if path.is_dir()]
    results = []
    for path in sorted(run_dir.glob("benchmark_results_*.json")):
        result = json.loads(path.read_text())
        results.append((result, path.parent / result["run"]["requests_file"]))
    return results


def check_categories_and_counters(result: dict[str, Any], requests_file: Path) -> None:
    """Per-category figures present; per-request acceptance sums equal the engine's counters."""
    assert result["workload"]["categories"] == dict.fromkeys(CATEGORIES, 2)
    assert set(result["categories"]) == set(CATEGORIES)
    assert all(figures["completed"] == 2 for figures in result["categories"].values())
    records = read_records(requests_file)
    assert {r.category for r in records} == set(CATEGORIES)
    if result["engine"]["method"] == "target-ar":
        assert result.get("spec_num_drafts") is None
        return
    for key, field in SPEC_KEYS.items():
        engine_counter = result[key]  # the engine's own figure wins over the records' sum (metrics registry)
        assert engine_counter == sum(getattr(r, field) for r in records), key
        assert engine_counter == sum(figures.get(key) or 0 for figures in result["categories"].values()), key


def category_comparison(*directories: Path) -> CategoryComparison:
    run_dirs = [path for directory in directories for path in directory.iterdir() if path.is_dir()]
    loaded = [run for path in run_dirs for run in read_results(path).runs]
    categories = compare_runs(loaded).categories
    assert categories is not None
    return categories


def test_transformers_speculation_on_a_question_file_is_lossless_per_category(tmp_path: Path):
    out = tmp_path / "tf"
    results = run_questions(
        out, "--engine", "transformers", "--method", "target-ar,speculative,prompt-lookup"
    )
    assert sorted(result["engine"]["method"] for result, _ in results) == [
        "prompt-lookup",
        "speculative",
        "target-ar",
    ]
    for result, requests_file in results:
        check_categories_and_counters(result, requests_file)
    categories = category_comparison(out)
    assert categories.categories == CATEGORIES
    speculative = [column for column in categories.columns if column.speculative]
    assert len(speculative) == 2
    assert all(
        column.speedup is not None and set(column.speedup) == set(CATEGORIES) for column in speculative
    )
    # Serial greedy decoding on the CPU: speculative decoding must give the autoregressive output exactly.
    assert [(check.identical, check.compared) for check in categories.lossless] == [(6, 6), (6, 6)]


@pytest.mark.vllm
def test_vllm_speculation_on_a_question_file_counts_acceptance_per_request(
    tmp_path: Path, tiny_models: TinyModels
):
    """Draft = target (speculative) and ngram (prompt-lookup runs as vLLM's ngram) beside target-ar."""
    pytest.importorskip("vllm")
    target = str(tiny_models.target)
    out = tmp_path / "vllm"
    results = run_questions(
        out,
        *("--engine", "vllm", "--model", target, "--draft-model", target, *VLLM_CPU),
        *("--method", "target-ar,speculative,prompt-lookup", "--num-speculative-tokens", "3"),
    )
    for result, requests_file in results:
        check_categories_and_counters(result, requests_file)
    by_method = {result["engine"]["method"]: result for result, _ in results}
    assert by_method["speculative"]["spec_num_draft_tokens"] > 0
    categories = category_comparison(out)
    assert len(categories.lossless) == 2
    for check in categories.lossless:
        # Reported as measured: how many of the six are identical is vLLM's business on this CPU.
        assert check.not_checked is None and check.compared == 6
        assert f"identical: {check.identical} of 6" in check.sentence()
        assert len(check.diverging) == 6 - check.identical
