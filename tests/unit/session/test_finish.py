"""Finishing a point: the result saved where asked, or beside it with a line saying why, never lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console

from specbench.engines.echo import EchoEngine
from specbench.runner.dispatcher import RunProgress
from specbench.session.finish import finish_point
from specbench.session.output import PointOutput
from specbench.session.point import Telemetry, measure_point
from specbench.settings import ResolvedConfig, resolve_plan
from specbench.workload.builder import build_workload
from specbench.workload.tokenizer import SyntheticTokenizer


def finished(result_file: Path, *, stopped_early: str | None = None, taken: bool = False):
    resolved: ResolvedConfig = (
        resolve_plan(
            profile=None,
            flags={
                "engine": "echo",
                "workload.num_prompts": 3,
                "workload.output_len": 4,
                "workload.warmup": 0,
            },
            flag_names={},
            environ={},
        )
        .sessions[0]
        .points[0]
    )
    config = resolved.config
    workload = build_workload(config, SyntheticTokenizer())
    engine = EchoEngine(config)
    console = Console(record=True, width=120)
    output = PointOutput.open(result_file, save_requests=True, console=console)
    point = asyncio.run(
        measure_point(
            engine,
            workload,
            config,
            sink=output.writer,
            progress=RunProgress(planned=3, send_window_s=workload.send_window_s),
            stop=asyncio.Event(),
        )
    )
    if taken:
        result_file.mkdir()  # its name is taken by a folder after the point began: the write fails
    done = finish_point(
        point,
        run_id="r",
        label=None,
        config=config,
        sources=resolved.sources,
        engine=engine.describe(),
        workload=workload,
        output=output,
        notes=["a note"],
        telemetry=Telemetry(),
        stopped_early=stopped_early,
        console=console,
    )
    return done, console.export_text()


def test_a_finished_point_is_saved_where_asked_and_shown(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    done, screen = finished(path)
    assert done.saved == path and path.is_file() and done.problems == []
    assert done.result.metric("completed") == 3 and done.result.run.notes == ["a note"]
    assert f"Result:\n  {path}\n" in screen


def test_a_probe_stopped_early_says_so_among_the_warnings(tmp_path: Path) -> None:
    done, screen = finished(tmp_path / "r.json", stopped_early="TTFT already over the SLO")
    assert "stopped early by the SLO search: TTFT already over the SLO" in done.result.run.warnings
    assert "warning:" in screen


def test_a_result_that_cannot_be_written_goes_beside_it_with_one_line_saying_why(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    done, _ = finished(path, taken=True)
    assert done.saved is not None and done.saved != path and done.saved.is_file()
    assert len(done.problems) == 1 and "could not write the result" in done.problems[0]
