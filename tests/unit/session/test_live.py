"""Measuring a point with the live view: every request ends in a record, and a signal reaches the point."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console

from specbench.runner.record_writer import read_records
from specbench.session.engine_session import EngineSession
from specbench.session.interrupts import Interrupts
from specbench.session.live import measure_live, relay
from specbench.session.output import PointOutput
from specbench.settings import resolve_plan
from specbench.workload.builder import build_workload
from specbench.workload.tokenizer import SyntheticTokenizer


def test_every_request_of_the_point_is_measured_and_written(tmp_path: Path) -> None:
    config = (
        resolve_plan(
            profile=None,
            flags={"engine": "echo", "workload.num_prompts": 5, "workload.output_len": 3},
            flag_names={},
            environ={},
        )
        .sessions[0]
        .config
    )
    workload = build_workload(config, SyntheticTokenizer())
    console = Console(file=open(tmp_path / "screen.txt", "w"), width=100)  # noqa: SIM115
    output = PointOutput.open(tmp_path / "r.json", save_requests=True, console=console)

    async def measure():
        async with EngineSession(config) as session:
            return await measure_live(
                session, workload, config, output=output, console=console, interrupts=Interrupts(console)
            )

    point = asyncio.run(measure())
    assert output.close_records() is None
    assert sorted(record.request_id for record in point.outcome.records) == list(range(5))
    assert output.files.requests is not None
    assert len(read_records(output.files.requests)) == 5


def test_relay_sets_the_target_once_the_source_is_set() -> None:
    async def scenario() -> tuple[bool, bool]:
        source, target = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(relay(source, target))
        await asyncio.sleep(0)
        before = target.is_set()
        source.set()
        await asyncio.wait_for(task, 1)
        return before, target.is_set()

    assert asyncio.run(scenario()) == (False, True)
