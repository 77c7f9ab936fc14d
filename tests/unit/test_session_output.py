"""File names of the points of one invocation: the original tool's names, plus what varies."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from specbench.config import RunConfig
from specbench.session.output import point_file_name, print_files
from specbench.session.point import PointFiles


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
