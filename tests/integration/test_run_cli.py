"""`specbench run` end to end through the real CLI, on the built-in model path and a local model dir."""

import json
from pathlib import Path

import pytest

from specbench.cli import main
from specbench.runner.record_writer import read_records

REQUIRED_KEYS = [
    "schema_version",
    "run",
    "config",
    "environment",
    "workload",
    "engine",
    "completed",
    "failed",
    "duration",
    "total_input_tokens",
    "total_output_tokens",
    "request_throughput",
    "output_throughput",
    "total_token_throughput",
    "mean_ttft_ms",
    "median_ttft_ms",
    "std_ttft_ms",
    "p90_ttft_ms",
    "p95_ttft_ms",
    "p99_ttft_ms",
    "mean_tpot_ms",
    "median_tpot_ms",
    "p99_tpot_ms",
    "mean_itl_ms",
    "median_itl_ms",
    "p99_itl_ms",
    "mean_e2el_ms",
    "median_e2el_ms",
    "p99_e2el_ms",
    "mean_dispatch_lag_ms",
    "p99_dispatch_lag_ms",
]


def run_cli(*args: str) -> int:
    return main(["run", *args])


@pytest.fixture(scope="module")
def transformers_run(tiny_models, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "result.json"
    code = run_cli(
        "--model",
        str(tiny_models.target),
        "--num-prompts",
        "6",
        "--rate",
        "inf",
        "--input-len",
        "12",
        "--output-len",
        "7",
        "--warmup",
        "1",
        "--output",
        str(out),
    )
    assert code == 0
    return out


def test_result_file_has_every_vllm_named_key(transformers_run: Path):
    result = json.loads(transformers_run.read_text())
    missing = [key for key in REQUIRED_KEYS if key not in result]
    assert not missing
    assert result["run"]["status"] == "completed"
    assert result["completed"] == 6 and result["failed"] == 0
    assert result["total_input_tokens"] == 6 * 12
    assert result["total_output_tokens"] == 6 * 7
    assert result["config"]["workload"]["num_prompts"] == 6


def test_per_request_records_have_real_ttft_and_exact_counts(transformers_run: Path):
    records = read_records(transformers_run.with_name("result_requests.jsonl"))
    assert sorted(r.request_id for r in records) == list(range(6))
    for record in records:
        assert record.error is None
        assert record.prompt_tokens == 12
        assert record.output_tokens == 7 == sum(record.chunk_tokens)
        assert 0 < record.ttft_ms <= record.e2el_ms
        assert len(record.itl_ms) == len(record.chunk_times_s) - 1


def test_smoke_profile_on_the_builtin_model(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli("--profile", "smoke") == 0
    result = json.loads((tmp_path / "results" / "benchmark_results_target_ar.json").read_text())
    assert result["completed"] == 16
    assert any("synthetic" in note for note in result["run"]["notes"])
    assert (tmp_path / "results" / "benchmark_results_target_ar_requests.jsonl").is_file()


def test_dry_run_prints_sources_and_runs_nothing(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUTO_RATE", "3")
    assert run_cli("--profile", "quick", "--duration", "30", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "env AUTO_RATE" in out and "flag --duration" in out and "profile quick-test" in out
    assert not (tmp_path / "results").exists()
