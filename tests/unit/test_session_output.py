"""File names of the points of one invocation: the original tool's names, plus what varies."""

from __future__ import annotations

import errno
import io
import json
from pathlib import Path

from rich.console import Console

import specbench.session.output as output
from specbench.config import RunConfig
from specbench.session.output import point_file_name, print_files
from specbench.session.point import PointFiles
from tests.results_factory import make_result


def config(engine: str, method: str = "target-ar", rate: float = 4.0) -> RunConfig:
    return RunConfig.model_validate({"engine": engine, "method": method, "workload": {"rate": rate}})


def test_head_to_head_files_name_every_engine_transformers_too() -> None:
    varied = ["engine", "method"]
    assert point_file_name(config("transformers"), varied) == "benchmark_results_target_ar_transformers.json"
    assert point_file_name(config("vllm"), varied) == "benchmark_results_target_ar_vllm.json"


def test_methods_of_one_engine_keep_the_original_names() -> None:
    assert point_file_name(config("transformers", "prompt-lookup"), ["method"]) == (
        "benchmark_results_prompt_lookup.json"
    )


def test_a_rate_sweep_adds_the_rate() -> None:
    assert (
        point_file_name(config("vllm", rate=2.0), ["workload.rate"])
        == "benchmark_results_target_ar_vllm_rate2.json"
    )


def result_saved_to_fallback(tmp_path, monkeypatch, requests_file: str) -> dict:
    """Save a result whose own directory is full; the fallback's JSON."""
    real_write = output.write_json_atomic

    def write(path: Path, data: dict) -> None:
        if path.parent == tmp_path / "out":
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, data)

    monkeypatch.setattr(output, "write_json_atomic", write)
    monkeypatch.setattr(output, "fallback_path", lambda path: tmp_path / "fallback" / path.name)
    result = make_result()
    result.run.requests_file = requests_file
    saved, problem = output.save_result(result, tmp_path / "out" / "r.json", Console(file=io.StringIO()))
    assert saved == tmp_path / "fallback" / "r.json" and problem is not None
    return json.loads(saved.read_text())


def test_a_result_saved_to_a_fallback_names_its_records_by_full_path(tmp_path, monkeypatch) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "r_requests.jsonl").write_text("")
    saved = result_saved_to_fallback(tmp_path, monkeypatch, "r_requests.jsonl")
    assert saved["run"]["requests_file"] == str(tmp_path / "out" / "r_requests.jsonl")
    assert saved["run"]["status"] == "incomplete"


def test_a_result_saved_to_a_fallback_says_when_its_records_were_lost(tmp_path, monkeypatch) -> None:
    (tmp_path / "out").mkdir()
    saved = result_saved_to_fallback(tmp_path, monkeypatch, "r_requests.jsonl")
    assert saved["run"]["requests_file"] is None
    assert (
        f"the per-request records were lost (no {tmp_path / 'out' / 'r_requests.jsonl'})"
        in saved["run"]["warnings"]
    )
    assert saved["run"]["status"] == "incomplete"


def test_result_paths_are_printed_whole_each_on_its_own_line_at_80_columns(tmp_path: Path) -> None:
    deep = tmp_path / "results" / "20261207T175800Z-abc123" / "benchmark_results_speculative_vllm_rate4.json"
    deep.parent.mkdir(parents=True)
    records = deep.with_name(deep.stem + "_requests.jsonl")
    for path in (deep, records):
        path.write_text("{}")
    console = Console(width=80, record=True, color_system=None, file=io.StringIO())
    print_files(console, deep, PointFiles(result=deep, requests=records))
    lines = console.export_text().splitlines()
    assert lines == ["Result:", f"  {deep}", "Per-request records:", f"  {records}"]
