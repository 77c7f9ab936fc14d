"""File names of the points of one invocation: the original tool's names, plus what varies."""

from __future__ import annotations

from specbench.config import RunConfig
from specbench.session.output import point_file_name


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
