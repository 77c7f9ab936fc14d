"""The workload kinds through the real CLI on the echo engine: what lands in the result file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specbench.cli import main
from specbench.runner.record_writer import read_records


def run(out: Path, *args: str) -> dict:
    assert main(["run", "--engine", "echo", "--warmup", "0", "--output", str(out), *args]) == 0
    return json.loads(out.read_text())


def test_a_mooncake_trace_is_replayed_at_twice_its_speed(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    rows = [
        {"timestamp": 100 * i, "input_length": 600, "output_length": 3, "hash_ids": [0, i + 1]}
        for i in range(10)
    ]
    trace.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = run(tmp_path / "trace.json", "--trace", str(trace), "--trace-speed", "2")
    workload = result["workload"]
    assert (workload["kind"], workload["trace_format"], workload["trace_speed"]) == ("trace", "mooncake", 2.0)
    assert workload["shares_prefixes"] is True and workload["trace_shared_blocks"] == 11
    assert result["requested_rate"] == pytest.approx(20.0)  # 10 requests 50 ms apart
    records = read_records(tmp_path / "trace_requests.jsonl")
    assert [r.scheduled_s for r in records] == pytest.approx([0.05 * i for i in range(10)])
    assert {r.prompt_tokens for r in records} == {600}


def test_a_ramp_reports_figures_per_window(tmp_path: Path) -> None:
    result = run(
        tmp_path / "ramp.json",
        *("--rate", "5", "--ramp", "linear", "--ramp-to", "45", "--duration", "2", "--num-prompts", "0"),
        *("--window", "0.5", "--arrival", "constant", "--input-len", "8", "--output-len", "2"),
    )
    assert result["workload"]["kind"] == "ramp"
    windows = result["windows"]
    assert [w["start_s"] for w in windows] == [0.0, 0.5, 1.0, 1.5]
    sent = [w["sent"] for w in windows]
    assert sent == sorted(sent) and sent[-1] > 2 * sent[0]  # the rate rose over the run
    assert sum(sent) == result["completed"]


def test_a_shared_prefix_run_records_its_groups(tmp_path: Path) -> None:
    result = run(
        tmp_path / "prefix.json",
        *("--prefix-groups", "3", "--prefix-len", "24", "--input-len", "32", "--num-prompts", "12"),
    )
    workload = result["workload"]
    assert (workload["kind"], workload["prefix_groups"], workload["prefix_len"]) == ("shared-prefix", 3, 24)
    assert workload["shares_prefixes"] is True
