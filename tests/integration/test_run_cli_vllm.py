"""`specbench run --engine vllm` through the real CLI on real vLLM (CPU build): the result file and
per-request records a user gets, for autoregressive and speculative decoding."""

import json
from pathlib import Path

import pytest

from specbench.cli import main
from specbench.runner.record_writer import read_records

pytestmark = [pytest.mark.vllm, pytest.mark.slow]
VLLM_CPU = ["--kv-cache-space", "1", "--max-model-len", "512", "--enforce-eager"]


def run_vllm_cli(out: Path, *args: str) -> dict:
    pytest.importorskip("vllm")
    assert (
        main(["run", "--engine", "vllm", "--profile", "smoke", *VLLM_CPU, "--output", str(out), *args]) == 0
    )
    return json.loads(out.read_text())


def test_vllm_smoke_run_measures_every_request(tmp_path: Path):
    result = run_vllm_cli(tmp_path / "ar.json")
    assert result["engine"]["name"] == "vllm"
    assert result["run"]["status"] == "completed"
    assert (result["completed"], result["failed"]) == (16, 0)
    assert result["total_output_tokens"] == 16 * 16
    assert result["output_throughput"] > 0
    assert 0 < result["mean_ttft_ms"] <= result["mean_e2el_ms"]
    for record in read_records(tmp_path / "ar_requests.jsonl"):
        assert record.output_tokens == 16 == sum(record.chunk_tokens)
        assert record.prompt_tokens == 32
        assert 0 < record.ttft_ms <= record.e2el_ms


def test_vllm_speculative_run_reports_acceptance_as_flat_keys(tmp_path: Path):
    result = run_vllm_cli(tmp_path / "spec.json", "--method", "speculative", "--num-speculative-tokens", "3")
    assert result["engine"]["draft_model"] is not None  # the built-in draft
    assert result["spec_num_draft_tokens"] == 3 * result["spec_num_drafts"] > 0
    assert 0 <= result["spec_num_accepted_tokens"] <= result["spec_num_draft_tokens"]
    assert result["spec_mean_acceptance_length"] == pytest.approx(
        1 + result["spec_num_accepted_tokens"] / result["spec_num_drafts"]
    )
    assert len(result["spec_acceptance_per_position"]) == 3
    assert result["total_output_tokens"] == 16 * 16
