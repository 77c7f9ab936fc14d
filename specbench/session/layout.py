"""Where the results of one invocation go, and the index that lists them.

One point alone writes the original tool's file names; several write into <output-dir>/<run id>/ with an
index.json that is rewritten after every point, so an interrupted invocation still lists what it saved.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from pathlib import Path

from specbench.config import RunConfig
from specbench.results.entries import PointEntry
from specbench.results.files import engine_log_path, result_path, write_json_atomic
from specbench.results.model import BenchmarkResult, IndexEntry, IndexKind, ResultIndex
from specbench.results.speculative import SpeculativeReport, speculative_report
from specbench.results.sweep import SessionSummary, sessions_summary
from specbench.session.output import point_file_name, point_label, setting
from specbench.settings import POINT_AXES, SESSION_AXES, RunPlan


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


class RunLayout:
    """The file names of a plan's points and engine logs, and its index: one list of point entries."""

    def __init__(self, plan: RunPlan, *, run_id: str | None = None) -> None:
        self.plan = plan
        self.run_id = run_id or new_run_id()
        first = plan.sessions[0].config
        self.multi = plan.several_results
        self.directory = first.output.dir / self.run_id if self.multi else None
        # A sweep's points differ by rate even where the plan lists one: labels and file names say which.
        self.varied = plan.varied
        if plan.generated and "workload.rate" not in plan.varied:
            self.varied = (*plan.varied, "workload.rate")
        # A session of several points is a sweep (also inside a head-to-head): the index records each point's
        # rate and concurrency and what each session found, and the run ends with the sweep's table.
        self.sweeping = plan.generated or any(len(session.points) > 1 for session in plan.sessions)
        self.index = ResultIndex(run_id=self.run_id, kind=_kind(plan, self.multi), created_at=_now())
        self.entries: list[PointEntry] = []  # every point, in the order run (the index lists them when multi)
        self.sessions: list[SessionSummary] = []

    def label(self, config: RunConfig) -> str | None:
        """What sets this point apart from the others of the invocation; None when nothing does."""
        return point_label(config, self.varied)

    def name(self, config: RunConfig) -> str:
        """How messages name a point: its label, or its engine when nothing varies."""
        return self.label(config) or config.engine.value

    def session_label(self, config: RunConfig) -> str | None:
        return point_label(config, [key for key in self.plan.varied if key in SESSION_AXES])

    def directory_of(self, config: RunConfig) -> Path:
        return self.directory if self.directory is not None else result_path(config).parent

    def result_file(self, config: RunConfig) -> Path:
        if self.directory is None:
            return result_path(config)
        name = point_file_name(config, self.varied)
        # A rate measured twice in one run (an SLO search confirms the rate a probe passed at) gets a file of
        # its own: the run directory is new, so a name taken is this run's earlier point.
        stem, count = name.removesuffix(".json"), 1
        while (self.directory / name).exists():
            count += 1
            name = f"{stem}_{count}.json"
        return self.directory / name

    def engine_log(self, config: RunConfig) -> Path:
        """One log per engine session, named after its results without what varies among its points."""
        name = (
            point_file_name(config, [key for key in self.varied if key in SESSION_AXES])
            if self.directory is not None
            else result_path(config).name
        )
        return engine_log_path(self.directory_of(config) / name)

    def add(
        self,
        config: RunConfig,
        result: BenchmarkResult | None,
        saved: Path | None,
        *,
        error: str | None = None,
    ) -> int | None:
        """Add the point (the index is rewritten at once); returns its position in the index, if kept."""
        keys = dict.fromkeys((*self.varied, *POINT_AXES)) if self.sweeping else self.varied
        entry = IndexEntry(
            label=self.name(config),
            status=result.run.status if result is not None else "failed",
            result_file=saved.name
            if saved is not None and saved.parent == self.directory
            else (str(saved) if saved else None),
            settings={key: setting(config, key) for key in keys},
            error=error,
        )
        self.entries.append(PointEntry(entry, result, saved))
        if not self.multi or self.directory is None:
            return None
        self.write_index()
        return len(self.entries) - 1

    def write_index(self) -> None:
        if self.directory is None:
            return
        self.index.entries = [entry.index for entry in self.entries]
        if self.sweeping:
            self.index.summary = sessions_summary(self.sessions)
        speculation = self.speculative_report()
        if speculation is not None:
            self.index.summary["speculative"] = speculation.model_dump()
        # Python values, so a rate of inf is written as "inf" as everywhere else (JSON mode writes null).
        write_json_atomic(self.directory / "index.json", self.index.model_dump())

    def speculative_report(self) -> SpeculativeReport | None:
        """AR and speculative points of this invocation paired by load, once both kinds have run."""
        return speculative_report(
            [(entry.index.label, entry.result) for entry in self.entries if entry.result is not None]
        )


def _kind(plan: RunPlan, multi: bool) -> IndexKind:
    if not multi:
        return "single"
    if len(plan.sessions) > 1:
        return "head-to-head"
    return "slo-search" if plan.sessions[0].config.sweep.find_max_rate else "sweep"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()
