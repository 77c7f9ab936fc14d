"""Where the results of one invocation go: the original tool's name for one point, a run folder with an
index rewritten after every point for several."""

from __future__ import annotations

import json
from pathlib import Path

from specbench.results.model import BenchmarkResult, EngineSection, RunSection
from specbench.session.layout import RunLayout
from specbench.settings import RunPlan, resolve_plan


def plan(tmp_path: Path, **flags: object) -> RunPlan:
    flags = {"engine": "echo", "output.dir": tmp_path, **flags}
    return resolve_plan(profile=None, flags=flags, flag_names={}, environ={})


def result() -> BenchmarkResult:
    return BenchmarkResult(
        run=RunSection(id="run", status="completed"),
        engine=EngineSection(name="echo", model="none", method="target-ar"),
    )


def test_one_point_keeps_the_original_file_name_and_writes_no_index(tmp_path: Path) -> None:
    layout = RunLayout(plan(tmp_path), run_id="r1")
    config = layout.plan.sessions[0].config
    assert not layout.multi and layout.directory is None and layout.index.kind == "single"
    assert layout.result_file(config) == tmp_path / "benchmark_results_target_ar_echo.json"
    assert layout.add(config, result(), tmp_path / "x.json") is None
    assert len(layout.entries) == 1 and layout.entries[0].result is not None
    assert list(tmp_path.iterdir()) == []


def test_several_rates_go_into_a_run_folder_with_an_index_rewritten_after_each_point(tmp_path: Path) -> None:
    layout = RunLayout(plan(tmp_path, **{"workload.rate": [1.0, 2.0]}), run_id="r2")
    first, second = (point.config for point in layout.plan.sessions[0].points)
    assert layout.directory == tmp_path / "r2" and layout.index.kind == "sweep"
    assert layout.result_file(second) == tmp_path / "r2" / "benchmark_results_target_ar_echo_rate2.json"
    layout.directory.mkdir()
    saved = layout.result_file(first)
    assert layout.add(first, result(), saved) == 0
    index = json.loads((layout.directory / "index.json").read_text())
    assert [entry["result_file"] for entry in index["entries"]] == [saved.name]
    assert layout.add(second, None, None, error="boom") == 1
    index = json.loads((layout.directory / "index.json").read_text())
    assert [(e["label"], e["status"], e["error"]) for e in index["entries"]] == [
        ("rate 1", "completed", None),
        ("rate 2", "failed", "boom"),
    ]
    assert index["entries"][1]["settings"] == {"workload.rate": 2.0, "workload.max_concurrency": None}


def test_a_sweep_varies_the_rate_even_where_the_plan_lists_one(tmp_path: Path) -> None:
    layout = RunLayout(plan(tmp_path, **{"sweep.points": 3}), run_id="r3")
    assert layout.multi and layout.sweeping and "workload.rate" in layout.varied


def test_a_head_to_head_names_each_engine_log_after_its_session(tmp_path: Path) -> None:
    layout = RunLayout(plan(tmp_path, engine=["echo", "transformers"], **{"workload.rate": [1.0, 2.0]}))
    assert layout.index.kind == "head-to-head"
    logs = {layout.engine_log(session.config).name for session in layout.plan.sessions}
    assert logs == {
        "benchmark_results_target_ar_echo_engine.log",
        "benchmark_results_target_ar_transformers_engine.log",
    }
    assert layout.session_label(layout.plan.sessions[1].config) == "transformers"
