"""The typed result: sections in the model, figures flat in the file, and files of every schema read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specbench.metrics.registry import merge_sources
from specbench.results.files import write_json_atomic
from specbench.results.load import ResultFileError, load_result
from specbench.results.model import SCHEMA_VERSION, BenchmarkResult, EngineSection, RunSection

DATA = Path(__file__).resolve().parents[1] / "data" / "specbench"


def result(**metrics: float | int | None) -> BenchmarkResult:
    return BenchmarkResult(
        run=RunSection(id="r1", status="completed"),
        engine=EngineSection(name="echo", model="none", method="target-ar"),
        metrics=dict(metrics),
    )


def test_figures_are_flat_top_level_keys_of_the_file_and_read_back_into_metrics(tmp_path: Path):
    original = result(completed=3, mean_ttft_ms=1.5, spec_acceptance_rate=None)
    data = original.to_json_dict()
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["completed"] == 3 and data["mean_ttft_ms"] == 1.5
    assert "metrics" not in data and "source_format" not in data
    write_json_atomic(tmp_path / "r.json", data)
    assert load_result(tmp_path / "r.json") == original


def test_a_schema_1_file_loads_with_its_figures_and_engine_names_upgraded():
    loaded = load_result(DATA / "schema_1.0_vllm_speculative.json")
    raw = json.loads((DATA / "schema_1.0_vllm_speculative.json").read_text())
    assert loaded.run.status == raw["status"] == "completed"
    assert loaded.engine.name == "vllm" and loaded.engine.draft_model == raw["draft_model"]
    assert loaded.metrics["spec_acceptance_rate"] == raw["spec_acceptance_rate"]
    assert loaded.metrics["mean_ttft_ms"] == raw["mean_ttft_ms"]
    # Renamed since: vLLM's raw token counters.
    assert loaded.metrics["engine_generation_tokens"] == raw["generation_tokens"]
    assert "generation_tokens" not in loaded.metrics


def test_a_schema_1_echo_file_loads():
    loaded = load_result(DATA / "schema_1.0_echo.json")
    assert loaded.engine.name == "echo" and loaded.metrics["completed"] == 5


def test_a_newer_major_schema_is_refused_with_the_reason(tmp_path: Path):
    path = tmp_path / "future.json"
    path.write_text(json.dumps({**result().to_json_dict(), "schema_version": "3.0"}))
    with pytest.raises(ResultFileError, match=r"schema 3\.0.*upgrade specbench"):
        load_result(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "it is empty"), ('{"schema_version": "2.0", "run"', "line 1"), ('{"a": 1}', "not a specbench")],
)
def test_broken_or_foreign_files_are_one_line_errors(tmp_path: Path, text: str, message: str):
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(ResultFileError, match=message):
        load_result(path)


def test_engine_counters_win_for_speculative_figures_and_records_fill_in():
    merged = merge_sources(
        {
            "records": {"completed": 4, "spec_acceptance_rate": 0.5, "spec_num_drafts": None},
            "engine": {"spec_acceptance_rate": 0.6, "spec_acceptance_per_position": [0.7, 0.5]},
        }
    )
    assert merged["spec_acceptance_rate"] == 0.6
    assert merged["spec_acceptance_per_position"] == [0.7, 0.5]
    assert merged["completed"] == 4
    assert list(merged) == [
        "completed",
        "spec_acceptance_rate",
        "spec_num_drafts",
        "spec_acceptance_per_position",
    ]


def test_an_engine_cannot_overwrite_a_figure_computed_from_records():
    with pytest.raises(ValueError, match="'mean_ttft_ms' may come from records, not from engine"):
        merge_sources({"records": {"mean_ttft_ms": 1.0}, "engine": {"mean_ttft_ms": 0.5}})


def test_an_undeclared_figure_is_refused():
    with pytest.raises(ValueError, match="not declared"):
        merge_sources({"engine": {"tokens_per_banana": 3}})
