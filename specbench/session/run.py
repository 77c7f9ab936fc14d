"""`specbench run`: every engine × method as its own engine session, one after the other, and every rate ×
concurrency as a measured point inside it. A single run is the plan with one session and one point."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from specbench.compare import compare_runs
from specbench.config import RunConfig
from specbench.errors import ConfigError, EngineStartError, SpecbenchError
from specbench.metrics.registry import percentile_label
from specbench.report.breakdown import render_breakdown
from specbench.report.comparison.table import render_comparison
from specbench.report.header import render_header
from specbench.report.live import LiveProgress
from specbench.report.summary import render_summary
from specbench.report.sweep import render_search, render_session_times, render_sweep_table
from specbench.results.files import (
    check_writable,
    engine_log_path,
    result_path,
    write_json_atomic,
)
from specbench.results.model import BenchmarkResult, IndexEntry, IndexKind, ResultIndex
from specbench.results.readers import INDEX_FILE, LOAD_SETTINGS, LoadedRun
from specbench.results.sweep import SessionSummary, sessions_summary
from specbench.runner.dispatcher import PhaseListener, RunProgress
from specbench.session.drain import EngineBroken, check_health, describe_error, drain
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
from specbench.session.points import ListedPoints, PointGenerator, PointReport, PointSource, PointSpec
from specbench.session.probe_watch import ProbeWatch
from specbench.session.slo_search import MaxRateSearch
from specbench.session.start import started_engine
from specbench.session.sweep import RateSweep
from specbench.settings import POINT_AXES, SESSION_AXES, RunPlan, SessionPlan
from specbench.telemetry import GpuSampler
from specbench.workload.builder import build_workload
from specbench.workload.tokenizer import PromptTokenizer
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
    """A session checked and ready to start: models resolved, where its points come from, the first point's
    workload built; and what it shares across its points."""

    config: RunConfig  # with the model directories resolved
    notes: list[str]
    tokenizer: PromptTokenizer
    source: PointSource
    points: PointGenerator
    first: PointSpec
    log: EngineLog
    summary: SessionSummary


class PlanRunner:
    """Runs every session of a plan, one after the other, and every point of each inside one engine start.

    The points of a session come from a PointSource: the plan's list, or a --sweep or SLO search that picks
    each point from the results of those before it. One point alone writes the original tool's file names;
    several write into <output-dir>/<run id>/ with an index.json that is rewritten after every point, so an
    interrupted invocation still lists what it saved.
    """

    def __init__(self, plan: RunPlan, *, console: Console) -> None:
        self.plan = plan
        self.console = console
        self.run_id = new_run_id()
        self.interrupts = Interrupts(console)
        self.report = RunReport()
        first = plan.sessions[0].config
        generated = any(session.config.sweep.active for session in plan.sessions)
        self.multi = plan.single is None or generated
        self.directory = first.output.dir / self.run_id if self.multi else None
        # A sweep's points differ by rate even where the plan lists one: labels and file names say which.
        self.varied = plan.varied
        if generated and "workload.rate" not in plan.varied:
            self.varied = (*plan.varied, "workload.rate")
        self.index = ResultIndex(run_id=self.run_id, kind=_kind(plan, self.multi), created_at=_now())
        # A session of several points is a sweep (also inside a head-to-head): the index records each point's
        # rate and concurrency and what each session found, and the run ends with the sweep's table.
        self.sweeping = generated or any(len(session.points) > 1 for session in plan.sessions)
        self.sessions: list[SessionSummary] = []
        self.measured: dict[int, BenchmarkResult] = {}  # by position in the index entries

    async def run(self) -> RunReport:
        if self.multi and self.plan.sessions[0].config.output.path is not None:
            raise ConfigError(f"{_several_results(self.plan)}: pass --output-dir DIR instead of --output")
        for session_plan in self.plan.sessions:
            if session_plan.config.sweep.active and len(session_plan.points) > 1:
                raise ConfigError(
                    "--sweep and --find-max-rate choose every point's rate: give --rate and "
                    "--max-concurrency one value each"
                )
        # Everything that can be checked is, before any engine starts: a head-to-head must not fail on its
        # last combination's bad dataset after the first has run for ten minutes. Then every place a file
        # will go is proven writable.
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
        if self.sweeping:
            self._print_sweep()
        elif self.multi and self.index.entries:
            self._print_comparison()
        return self.report

    def _prepare(self, session_plan: SessionPlan) -> PreparedSession:
        config, notes = resolve_models(session_plan.config)
        notes += ignored_settings_notes(config, session_plan.sources)
        notes += _sweep_notes(session_plan)
        tokenizer = workload_tokenizer(config)
        source = _point_source(session_plan, tokenizer)
        points = source.points()
        first = next(points)
        first = replace(first, workload=first.workload or build_workload(first.config, tokenizer))
        check_context(config, first.workload)
        # One log per engine session, named after the session's results without what varies among its points.
        log_file = (
            point_file_name(first.config, [key for key in self.varied if key in SESSION_AXES])
            if self.directory is not None
            else result_path(config).name
        )
        return PreparedSession(
            config=config,
            notes=notes,
            tokenizer=tokenizer,
            source=source,
            points=points,
            first=first,
            log=EngineLog(engine_log_path(self._directory_of(config) / log_file)),
            summary=SessionSummary(label=_session_label(config, self.plan), kind=source.kind),
        )

    async def _run_session(self, prepared: PreparedSession) -> None:
        if self.sweeping:
            self.sessions.append(prepared.summary)
        self.interrupts.phase = RunPhase.STARTING
        spec: PointSpec | None = prepared.first
        try:
            async with started_engine(
                prepared.config, log=prepared.log, console=self.console, interrupts=self.interrupts
            ) as session:
                prepared.summary.engine_start_s = session.start_s
                spec = None  # from here on, every point the source yields is measured or recorded
                await self._run_points(session, prepared)
        except StartInterrupted:
            self.report.problems.append(
                "interrupted while an engine was starting: that engine measured nothing"
            )
        except EngineStartError as exc:
            if not self.multi:
                raise
            # A head-to-head goes on without the combination that cannot start; the table says why.
            self.console.print(f"[bold red]error:[/] {escape(str(exc))}")
            self.report.problems.append(str(exc))
            while spec is not None:
                spec = _send(prepared.points, self._record(self._failed(spec, str(exc)), prepared))
        finally:
            prepared.source.summarize(prepared.summary)
            self._write_index()

    async def _run_points(self, session: EngineSession, prepared: PreparedSession) -> None:
        """Each point in turn: drain the last one's tail, measure, tell the source what came of it.

        Once the engine is found broken, every later point is recorded as failed with that reason at once.
        """
        broken: str | None = None
        previous: PointReport | None = None
        spec: PointSpec | None = prepared.first
        while spec is not None and self.interrupts.signum is None:
            began = time.perf_counter()
            if previous is not None and broken is None:
                broken = await self._drain(session, spec.config)
                if broken is None and (previous.error is not None or _nothing_completed(previous)):
                    broken = await self._diagnose(session, previous, prepared)
            report = self._failed(spec, broken) if broken else await self._try_point(session, spec, prepared)
            report.wall_s = time.perf_counter() - began
            previous = report
            spec = _send(prepared.points, self._record(report, prepared))

    def _record(self, report: PointReport, prepared: PreparedSession) -> PointReport:
        """Add a finished point to its session's summary and the index."""
        if report.entry is not None:
            prepared.summary.entries.append(report.entry)
            prepared.summary.point_wall_s.append(report.wall_s)
        prepared.source.summarize(prepared.summary)
        self._write_index()
        return report

    async def _drain(self, session: EngineSession, config: RunConfig) -> str | None:
        """Let the previous point's tail leave the engine; None when it did, else why the engine is broken."""
        try:
            await drain(session.engine, settle_s=config.sweep.settle_s, stop=self.interrupts.stop)
        except EngineBroken as exc:
            self.report.problems.append(f"the engine did not recover from a point: {exc}")
            return f"not run: the engine did not recover from the previous point ({exc})"
        return None

    async def _diagnose(
        self, session: EngineSession, report: PointReport, prepared: PreparedSession
    ) -> str | None:
        """After a point that broke: does the engine still serve? None when it does, else why not."""
        spec = report.spec
        workload = spec.workload or build_workload(spec.config, prepared.tokenizer)
        # One token of a real prompt: a prompt the engine refuses (too long) must not pass for a dead engine.
        prompt = (workload.warmup or workload.requests)[0].prompt_token_ids[:1]
        reason = await check_health(session.engine, prompt)
        if reason is None:
            return None
        label = point_label(spec.config, self.varied) or spec.config.engine.value
        self.report.problems.append(f"the engine stopped serving at {label}: {reason}")
        return f"not run: the engine stopped serving at {label} ({reason})"

    async def _try_point(
        self, session: EngineSession, spec: PointSpec, prepared: PreparedSession
    ) -> PointReport:
        """Measure one point; in a sweep, a point that breaks is recorded and the sweep goes on."""
        try:
            workload = spec.workload or build_workload(spec.config, prepared.tokenizer)
            check_context(prepared.config, workload)
            return await self._run_point(session, replace(spec, workload=workload), prepared)
        except Exception as exc:
            if not self.multi:
                raise
            reason = describe_error(exc) if not isinstance(exc, SpecbenchError) else str(exc)
            label = point_label(spec.config, self.varied) or spec.config.engine.value
            self.report.problems.append(f"{label}: {reason}")
            return self._failed(spec, reason)

    async def _run_point(
        self, session: EngineSession, spec: PointSpec, prepared: PreparedSession
    ) -> PointReport:
        config = spec.config.model_copy(
            update={"model": prepared.config.model, "draft_model": prepared.config.draft_model}
        )
        workload = spec.workload
        assert workload is not None  # _try_point built it
        label = point_label(config, self.varied)
        output = PointOutput.open(
            self._result_file(config), save_requests=config.output.save_requests, console=self.console
        )
        output.files.engine_log = prepared.log.path
        self.interrupts.phase = RunPhase.MEASURING
        info = session.info
        gpus = PointGpus.start(info, config.telemetry)
        notes = [*prepared.notes, *gpus.notes]
        if label:
            self.console.rule(f"[bold]{escape(label)}")
        render_header(self.console, engine=info, workload=workload.summary, notes=notes)
        watch = ProbeWatch(spec.watch, workload, output.writer) if spec.watch is not None else None
        try:
            point = await measure_live(
                session,
                workload,
                config,
                output=output,
                console=self.console,
                interrupts=self.interrupts,
                watch=watch,
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
            sources=spec.resolved.sources,
            engine=info,
            workload=workload,
            point=point,
            files=output.files,
            notes=notes,
            telemetry=gpus.telemetry(info, point.outcome.records),
        )
        stopped_early = watch.reason if watch is not None else None
        if stopped_early is not None:
            result.run.warnings.append(f"stopped early by the SLO search: {stopped_early}")
        if records_problem:
            result.run.warnings.append(records_problem)
        saved, save_problem = save_result(result, output.files.result, self.console)
        render_summary(result, self.console)
        render_breakdown(result, self.console)
        for warning in result.run.warnings:
            self.console.print(f"[yellow]warning:[/] {escape(warning)}")
        print_files(self.console, saved, output.files)
        self.report.results.append((result, saved))
        self.report.problems += [p for p in (records_problem, save_problem) if p]
        entry = self._add_entry(config, result, saved)
        if entry is not None:
            self.measured[entry] = result
        return PointReport(
            spec, entry=entry, result=result, records=point.outcome.records, stopped_early=stopped_early
        )

    def _failed(self, spec: PointSpec, reason: str) -> PointReport:
        """A point that has no measurement: recorded with why, so the index and the table show it."""
        label = point_label(spec.config, self.varied) or spec.config.engine.value
        self.console.print(f"[bold red]{escape(label)} failed:[/] {escape(reason)}")
        return PointReport(spec, entry=self._add_entry(spec.config, None, None, error=reason), error=reason)

    def _directory_of(self, config: RunConfig) -> Path:
        return self.directory if self.directory is not None else result_path(config).parent

    def _result_file(self, config: RunConfig) -> Path:
        if self.directory is None:
            return result_path(config)
        return self.directory / point_file_name(config, self.varied)

    def _add_entry(
        self,
        config: RunConfig,
        result: BenchmarkResult | None,
        saved: Path | None,
        *,
        error: str | None = None,
    ) -> int | None:
        """Add the point to the index (rewritten at once); returns its position there."""
        if not self.multi or self.directory is None:
            return None
        keys = dict.fromkeys((*self.varied, *POINT_AXES)) if self.sweeping else self.varied
        self.index.entries.append(
            IndexEntry(
                label=point_label(config, self.varied) or config.engine.value,
                status=result.run.status if result is not None else "failed",
                result_file=saved.name
                if saved is not None and saved.parent == self.directory
                else (str(saved) if saved else None),
                settings={key: setting(config, key) for key in keys},
                error=error,
            )
        )
        self._write_index()
        return len(self.index.entries) - 1

    def _write_index(self) -> None:
        if self.directory is None:
            return
        if self.sweeping:
            self.index.summary = sessions_summary(self.sessions)
        # Python values, so a rate of inf is written as "inf" as everywhere else (JSON mode writes null).
        write_json_atomic(self.directory / "index.json", self.index.model_dump())

    def _print_sweep(self) -> None:
        percentiles = self.plan.sessions[0].config.percentiles
        tail = f"p{percentile_label(max(percentiles))}" if percentiles else None
        title = f"specbench · {len(self.index.entries)} points in {self.directory}"
        render_sweep_table(self.index.entries, self.measured, self.console, tail=tail, title=title)
        for session in self.sessions:
            if session.search is not None:
                render_search(session.search, self.index.entries, self.measured, self.console, tail=tail)
        render_session_times(self.sessions, self.console)

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
        load_varied = any(key in LOAD_SETTINGS for key in self.varied)
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
    watch: ProbeWatch | None = None,
    gpus: GpuSampler | None = None,
) -> MeasuredPoint:
    """Measure one point with the live view on screen (with the GPU table when `gpus` samples them); a `watch`
    may end it early (an SLO probe)."""
    progress = RunProgress(
        planned=workload.num_turns if config.workload.num_requests else None,
        send_window_s=workload.send_window_s,
    )
    writer = output.writer
    if gpus is not None:
        listeners = [*listeners, gpus]
    stop, abort, sink = interrupts.stop, interrupts.abort, writer
    helpers: list[asyncio.Task[None]] = []
    if watch is not None:
        # The probe has its own stop and abort, which a signal sets too.
        stop, abort, sink = watch.stop, watch.abort, watch
        helpers = [
            asyncio.create_task(_relay(interrupts.stop, stop)),
            asyncio.create_task(_relay(interrupts.abort, abort)),
            asyncio.create_task(watch.watch(progress)),
        ]
    try:
        async with LiveProgress(progress, console, on_tick=writer.flush if writer else None, gpus=gpus):
            point = await measure_point(
                session.engine,
                workload,
                config,
                sink=sink,
                progress=progress,
                stop=stop,
                abort=abort,
                listeners=listeners,
            )
    finally:
        for helper in helpers:
            helper.cancel()
        outcomes = await asyncio.gather(*helpers, return_exceptions=True)
    # A watch that broke must not pass unseen: the point fails with its error (a sweep records it).
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome
    return point


async def _relay(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()


def _point_source(session_plan: SessionPlan, tokenizer: PromptTokenizer) -> PointSource:
    """A --sweep, the SLO search, or the plan's own list (every workload built now, before any engine)."""
    base = session_plan.points[0]
    if base.config.sweep.points is not None:
        return RateSweep(base)
    if base.config.sweep.find_max_rate:
        return MaxRateSearch(base)
    return ListedPoints(
        [PointSpec(point, build_workload(point.config, tokenizer)) for point in session_plan.points]
    )


def _send(points: PointGenerator, report: PointReport) -> PointSpec | None:
    """Tell the source what became of its last point; its next point, or None when it has no more."""
    try:
        return points.send(report)
    except StopIteration:
        return None


def _nothing_completed(report: PointReport) -> bool:
    """Every measured request failed: maybe the point, maybe the engine (dead engines fail requests fast)."""
    records = report.records
    return bool(records) and not any(record.success for record in records) and report.stopped_early is None


def _kind(plan: RunPlan, multi: bool) -> IndexKind:
    if not multi:
        return "single"
    if len(plan.sessions) > 1:
        return "head-to-head"
    return "slo-search" if plan.sessions[0].config.sweep.find_max_rate else "sweep"


def _several_results(plan: RunPlan) -> str:
    sweep = plan.sessions[0].config.sweep
    if sweep.active:
        return f"{'--sweep' if sweep.points is not None else '--find-max-rate'} makes several results"
    return f"{', '.join(plan.varied)} take several values, so there are several results"


def _session_label(config: RunConfig, plan: RunPlan) -> str | None:
    return point_label(config, [key for key in plan.varied if key in SESSION_AXES])


def _sweep_notes(session_plan: SessionPlan) -> list[str]:
    """Say so when a setting the user chose is replaced by what the sweep chooses."""
    origin = session_plan.sources.get("workload.rate", "default")
    if session_plan.config.sweep.points is not None and origin != "default":
        return [f"--sweep chooses every point's rate: workload.rate ({origin}) is not used"]
    return []


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()
