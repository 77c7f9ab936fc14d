"""`specbench run`: every engine × method as its own engine session, one after the other, and every rate ×
concurrency as a measured point inside it. A single run is the plan with one session and one point."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from specbench.compare import compare_runs
from specbench.config import RunConfig
from specbench.errors import ConfigError, EngineStartError
from specbench.report.comparison.table import render_comparison
from specbench.report.header import render_header
from specbench.report.live import LiveProgress
from specbench.report.summary import render_summary
from specbench.results.files import (
    check_writable,
    engine_log_path,
    result_path,
    write_json_atomic,
)
from specbench.results.model import BenchmarkResult, IndexEntry, ResultIndex
from specbench.results.readers import INDEX_FILE, LOAD_SETTINGS, LoadedRun
from specbench.runner.dispatcher import PhaseListener, RunProgress
from specbench.session.engine_log import EngineLog
from specbench.session.engine_session import EngineSession
from specbench.session.gpus import PointGpus
from specbench.session.interrupts import Interrupts, RunPhase, StartInterrupted
from specbench.session.models import check_context, ignored_settings_notes, resolve_models, workload_tokenizer
from specbench.session.output import (
    PointOutput,
    point_file_name,
    point_label,
    print_files,
    save_result,
    setting,
)
from specbench.session.point import MeasuredPoint, build_result, measure_point
from specbench.session.start import started_engine
from specbench.settings import SESSION_AXES, ResolvedConfig, RunPlan, SessionPlan
from specbench.telemetry import GpuSampler
from specbench.workload.builder import build_workload
from specbench.workload.types import Workload


@dataclass(slots=True)
class RunReport:
    """What a run left behind and how the process should exit."""

    results: list[tuple[BenchmarkResult, Path | None]] = field(default_factory=list)
    exit_code: int = 0
    problems: list[str] = field(default_factory=list)  # one line each, for stderr


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


@dataclass(slots=True)
class PreparedSession:
    """A session checked and ready to start: models resolved, every point's workload built."""

    config: RunConfig
    notes: list[str]
    points: list[tuple[ResolvedConfig, Workload]]


class PlanRunner:
    """Runs every session of a plan, one after the other, and every point of each inside one engine start.

    One point alone writes the original tool's file names; several write into <output-dir>/<run id>/ with an
    index.json that is rewritten after every point, so an interrupted invocation still lists what it saved.
    """

    def __init__(self, plan: RunPlan, *, console: Console) -> None:
        self.plan = plan
        self.console = console
        self.run_id = new_run_id()
        self.interrupts = Interrupts(console)
        self.report = RunReport()
        first = plan.sessions[0].config
        self.multi = plan.single is None
        self.directory = first.output.dir / self.run_id if self.multi else None
        kind = "head-to-head" if len(plan.sessions) > 1 else "sweep"
        self.index = ResultIndex(
            run_id=self.run_id,
            kind=kind if self.multi else "single",
            created_at=dt.datetime.now(dt.UTC).isoformat(),
        )

    async def run(self) -> RunReport:
        if self.multi and self.plan.sessions[0].config.output.path is not None:
            raise ConfigError(
                f"{', '.join(self.plan.varied)} take several values, so there are several results: "
                "pass --output-dir DIR instead of --output"
            )
        # Everything that can be checked is, before any engine starts: a head-to-head must not fail on
        # its last combination's bad dataset after the first has run for ten minutes.
        prepared = [self._prepare(session_plan) for session_plan in self.plan.sessions]
        check_writable(self.directory or result_path(self.plan.sessions[0].config).parent)
        with self.interrupts.installed():
            for session in prepared:
                if self.interrupts.signum is not None:
                    break
                await self._run_session(session)
        if self.interrupts.signum is not None:
            self.report.exit_code = self.interrupts.exit_code
        elif self.report.problems:
            self.report.exit_code = 1
        if self.multi and self.index.entries:
            self._print_comparison()
        return self.report

    def _prepare(self, session_plan: SessionPlan) -> PreparedSession:
        config, notes = resolve_models(session_plan.config)
        notes += ignored_settings_notes(config, session_plan.sources)
        tokenizer = workload_tokenizer(config)
        points = [(point, build_workload(point.config, tokenizer)) for point in session_plan.points]
        for _, workload in points:
            check_context(config, workload)
        return PreparedSession(config, notes, points)

    async def _run_session(self, prepared: PreparedSession) -> None:
        config, notes, points = prepared.config, prepared.notes, prepared.points
        # One log per engine session, named after the session's results without what varies among its points.
        first = points[0][0].config
        log_file = (
            point_file_name(first, [key for key in self.plan.varied if key in SESSION_AXES])
            if self.directory is not None
            else result_path(first).name
        )
        log = EngineLog(engine_log_path(self._directory_of(first) / log_file))
        self.interrupts.phase = RunPhase.STARTING
        try:
            async with started_engine(
                config, log=log, console=self.console, interrupts=self.interrupts
            ) as session:
                for resolved, workload in points:
                    if self.interrupts.signum is not None:
                        break
                    point_config = resolved.config.model_copy(
                        update={"model": config.model, "draft_model": config.draft_model}
                    )
                    await self._run_point(session, point_config, resolved.sources, workload, notes, log)
        except StartInterrupted:
            self.report.problems.append(
                "interrupted while an engine was starting: that engine measured nothing"
            )
        except EngineStartError as exc:
            if not self.multi:
                raise
            # A head-to-head goes on without the combination that cannot start; the table says why.
            self.console.print(f"[bold red]error:[/] {escape(str(exc))}")
            for resolved, _ in points:
                self._add_entry(resolved.config, None, None, error=str(exc))
            self.report.problems.append(str(exc))

    async def _run_point(
        self,
        session: EngineSession,
        config: RunConfig,
        sources: Mapping[str, str],
        workload: Workload,
        notes: list[str],
        log: EngineLog,
    ) -> None:
        label = point_label(config, self.plan.varied)
        output = PointOutput.open(
            self._result_file(config), save_requests=config.output.save_requests, console=self.console
        )
        output.files.engine_log = log.path
        self.interrupts.phase = RunPhase.MEASURING
        info = session.info
        gpus = PointGpus.start(info, config.telemetry)
        notes = [*notes, *gpus.notes]
        if label:
            self.console.rule(f"[bold]{escape(label)}")
        render_header(self.console, engine=info, workload=workload.summary, notes=notes)
        try:
            point = await measure_live(
                session,
                workload,
                config,
                output=output,
                console=self.console,
                interrupts=self.interrupts,
                gpus=gpus.sampler,
            )
        except BaseException:
            output.close_records()
            raise
        finally:
            gpus.stop()
            self.interrupts.phase = RunPhase.SAVING
        records_problem = output.close_records()
        result = build_result(
            run_id=self.run_id,
            label=label,
            config=config,
            sources=sources,
            engine=info,
            workload=workload,
            point=point,
            files=output.files,
            notes=notes,
            telemetry=gpus.telemetry(info, point.outcome.records),
        )
        if records_problem:
            result.run.warnings.append(records_problem)
        saved, save_problem = save_result(result, output.files.result, self.console)
        render_summary(result, self.console)
        for warning in result.run.warnings:
            self.console.print(f"[yellow]warning:[/] {escape(warning)}")
        print_files(self.console, saved, output.files)
        self.report.results.append((result, saved))
        self.report.problems += [p for p in (records_problem, save_problem) if p]
        self._add_entry(config, result, saved)

    def _directory_of(self, config: RunConfig) -> Path:
        return self.directory if self.directory is not None else result_path(config).parent

    def _result_file(self, config: RunConfig) -> Path:
        if self.directory is None:
            return result_path(config)
        return self.directory / point_file_name(config, self.plan.varied)

    def _add_entry(
        self,
        config: RunConfig,
        result: BenchmarkResult | None,
        saved: Path | None,
        *,
        error: str | None = None,
    ) -> None:
        if not self.multi or self.directory is None:
            return
        self.index.entries.append(
            IndexEntry(
                label=point_label(config, self.plan.varied) or config.engine.value,
                status=result.run.status if result is not None else "failed",
                result_file=saved.name
                if saved is not None and saved.parent == self.directory
                else (str(saved) if saved else None),
                settings={key: setting(config, key) for key in self.plan.varied},
                error=error,
            )
        )
        write_json_atomic(self.directory / "index.json", self.index.model_dump(mode="json"))

    def _print_comparison(self) -> None:
        """The compare table of every result of this invocation; a combination that failed shows why."""
        assert self.directory is not None
        results = iter(self.report.results)
        runs = []
        for entry in self.index.entries:
            if entry.status == "failed":
                runs.append(
                    LoadedRun(self.directory / INDEX_FILE, None, label=entry.label, error=entry.error)
                )
                continue
            result, saved = next(results)
            runs.append(LoadedRun(saved or self.directory / INDEX_FILE, result, label=entry.label))
        title = f"specbench · {len(runs)} results in {self.directory}"
        load_varied = any(key in LOAD_SETTINGS for key in self.plan.varied)
        render_comparison(compare_runs(runs, load_varied=load_varied), self.console, title=title)
        where = escape(str(self.directory))
        self.console.print(f"To see this again: specbench compare {where}   plots: specbench plot {where}")


async def run_plan(plan: RunPlan, *, console: Console) -> RunReport:
    """Every engine × method as its own engine session, every rate × concurrency as a point inside it."""
    return await PlanRunner(plan, console=console).run()


async def measure_live(
    session: EngineSession,
    workload: Workload,
    config: RunConfig,
    *,
    output: PointOutput,
    console: Console,
    interrupts: Interrupts,
    listeners: Sequence[PhaseListener] = (),
    gpus: GpuSampler | None = None,
) -> MeasuredPoint:
    """Measure one point with the live view on screen (with the GPU table when `gpus` samples them)."""
    progress = RunProgress(
        planned=len(workload.requests) if config.workload.num_requests else None,
        send_window_s=workload.send_window_s,
    )
    writer = output.writer
    if gpus is not None:
        listeners = [*listeners, gpus]
    async with LiveProgress(progress, console, on_tick=writer.flush if writer else None, gpus=gpus):
        return await measure_point(
            session.engine,
            workload,
            config,
            sink=writer,
            progress=progress,
            stop=interrupts.stop,
            abort=interrupts.abort,
            listeners=listeners,
        )
