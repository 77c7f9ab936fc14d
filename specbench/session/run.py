"""`specbench run`: every engine × method as its own engine session, one after the other, and every rate ×
concurrency as a measured point inside it. A single run is the plan with one session and one point.

This module is the loop alone: start each session's engine, measure its points in turn, and decide what a
failure means. Checks before the start are in prepare.py, file names and the index in layout.py, finishing
a point in finish.py, the live view in live.py, and the closing tables in specbench/report/closing.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from rich.console import Console
from rich.markup import escape

from specbench.config import RunConfig
from specbench.errors import EngineStartError, SpecbenchError
from specbench.report.closing import render_results_close, render_sweep_close
from specbench.report.header import render_header
from specbench.report.speculative import render_engine_starts, render_speculative_report
from specbench.results.entries import PointEntry
from specbench.session.drain import EngineBroken, check_health, describe_error, drain
from specbench.session.engine_session import EngineSession
from specbench.session.finish import finish_point
from specbench.session.gpus import PointGpus
from specbench.session.interrupts import Interrupts, RunPhase, StartInterrupted
from specbench.session.layout import RunLayout, new_run_id
from specbench.session.live import measure_live
from specbench.session.models import check_context
from specbench.session.output import PointOutput, keep_earlier_result
from specbench.session.points import PointGenerator, PointReport, PointSpec
from specbench.session.prepare import PreparedSession, drawn_prompts, prepare_plan
from specbench.session.probe_watch import ProbeWatch
from specbench.session.start import started_engine
from specbench.settings import RunPlan
from specbench.workload.builder import build_workload

__all__ = ["PlanRunner", "RunReport", "measure_live", "new_run_id", "run_plan"]


@dataclass(slots=True)
class RunReport:
    """What a run left behind and how the process should exit."""

    entries: list[PointEntry] = field(default_factory=list)  # every point, measured or failed, in order
    exit_code: int = 0
    problems: list[str] = field(default_factory=list)  # one line each, for stderr


class PlanRunner:
    """Runs every session of a plan, one after the other, and every point of each inside one engine start.

    The points of a session come from a PointSource: the plan's list, or a --sweep or SLO search that picks
    each point from the results of those before it.
    """

    def __init__(self, plan: RunPlan, *, console: Console) -> None:
        self.plan = plan
        self.console = console
        self.layout = RunLayout(plan)
        self.run_id = self.layout.run_id
        self.interrupts = Interrupts(console)
        self.report = RunReport(entries=self.layout.entries)

    async def run(self) -> RunReport:
        # Everything that can be checked is, before any engine starts (the same checks as --dry-run).
        prepared = prepare_plan(self.layout)
        for note in self.plan.skipped:
            self.console.print(f"[yellow]note:[/] {escape(note)}")
        if self.layout.directory is None:
            # Before the engine's log opens beside the result: an earlier result keeps its own log.
            keep_earlier_result(
                self.layout.result_file(prepared[0].config), self.console, before_engine_log=True
            )
        with self.interrupts.installed():
            for session in prepared:
                if self.interrupts.signum is not None:
                    break
                await self._run_session(session)
        if self.interrupts.signum is not None:
            self.report.exit_code = self.interrupts.exit_code
        elif self.report.problems:
            self.report.exit_code = 1
        layout = self.layout
        if layout.sweeping:
            percentiles = self.plan.sessions[0].config.percentiles
            render_sweep_close(
                layout.entries,
                layout.sessions,
                self.console,
                percentiles=percentiles,
                directory=layout.directory,
            )
        elif layout.multi and layout.directory is not None and layout.entries:
            render_results_close(
                layout.entries, self.console, directory=layout.directory, varied=layout.varied
            )
        speculation = layout.speculative_report()
        if speculation is not None:
            render_speculative_report(speculation, self.console)
            if not layout.sweeping:  # the sweep's closing lines said it already
                render_engine_starts(layout.sessions, self.console)
        return self.report

    async def _run_session(self, prepared: PreparedSession) -> None:
        self.layout.sessions.append(prepared.summary)
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
            if not self.layout.multi:
                raise
            # A head-to-head goes on without the combination that cannot start; the table says why.
            self.console.print(f"[bold red]error:[/] {escape(str(exc))}")
            self.report.problems.append(str(exc))
            while spec is not None:
                spec = _send(prepared.points, self._record(self._failed(spec, str(exc)), prepared))
        finally:
            prepared.source.summarize(prepared.summary)
            self.layout.write_index()

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
        self.layout.write_index()
        return report

    async def _drain(self, session: EngineSession, config: RunConfig) -> str | None:
        """Let the previous point's tail leave the engine; None when it did, else why the engine is broken."""
        try:
            forgot = await drain(session.engine, settle_s=config.sweep.settle_s, stop=self.interrupts.stop)
            if forgot is False:
                self.console.print(
                    "[yellow]warning:[/] the engine did not empty its prefix cache before this point: its "
                    "result counts any hits"
                )
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
        label = self.layout.name(spec.config)
        self.report.problems.append(f"the engine stopped serving at {label}: {reason}")
        return f"not run: the engine stopped serving at {label} ({reason})"

    async def _try_point(
        self, session: EngineSession, spec: PointSpec, prepared: PreparedSession
    ) -> PointReport:
        """Measure one point; in a sweep, a point that breaks is recorded and the sweep goes on."""
        try:
            workload = spec.workload
            if workload is None:
                workload = build_workload(spec.config, prepared.tokenizer, earlier=prepared.drawn)
                prepared.drawn += drawn_prompts(workload)
            check_context(prepared.config, workload, served=session.info.max_model_len)
            return await self._run_point(session, replace(spec, workload=workload), prepared)
        except Exception as exc:
            if not self.layout.multi:
                raise
            reason = describe_error(exc) if not isinstance(exc, SpecbenchError) else str(exc)
            self.report.problems.append(f"{self.layout.name(spec.config)}: {reason}")
            return self._failed(spec, reason)

    async def _run_point(
        self, session: EngineSession, spec: PointSpec, prepared: PreparedSession
    ) -> PointReport:
        config = spec.config.model_copy(
            update={"model": prepared.config.model, "draft_model": prepared.config.draft_model}
        )
        workload = spec.workload
        assert workload is not None  # _try_point built it
        label = self.layout.label(config)
        output = PointOutput.open(
            self.layout.result_file(config), save_requests=config.output.save_requests, console=self.console
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
        stopped_early = watch.reason if watch is not None else None
        finished = finish_point(
            point,
            run_id=self.run_id,
            label=label,
            config=config,
            sources=spec.resolved.sources,
            engine=info,
            workload=workload,
            output=output,
            notes=notes,
            telemetry=gpus.telemetry(info, point.outcome.records),
            stopped_early=stopped_early,
            console=self.console,
        )
        self.report.problems += finished.problems
        entry = self.layout.add(config, finished.result, finished.saved)
        return PointReport(
            spec,
            entry=entry,
            result=finished.result,
            records=point.outcome.records,
            stopped_early=stopped_early,
        )

    def _failed(self, spec: PointSpec, reason: str) -> PointReport:
        """A point that has no measurement: recorded with why, so the index and the table show it."""
        self.console.print(f"[bold red]{escape(self.layout.name(spec.config))} failed:[/] {escape(reason)}")
        return PointReport(spec, entry=self.layout.add(spec.config, None, None, error=reason), error=reason)


async def run_plan(plan: RunPlan, *, console: Console) -> RunReport:
    """Every engine × method as its own engine session, every rate × concurrency as a point inside it."""
    return await PlanRunner(plan, console=console).run()


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
