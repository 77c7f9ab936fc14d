"""Every check a plan's sessions need before any engine starts: model directories, the tokenizer, the first
workload, the context length, and that the results can be written. The run and `--dry-run` both call
`prepare_plan`, so a dry run refuses what the run would refuse, with the same line."""

from __future__ import annotations

from dataclasses import dataclass, replace

from specbench.config import RunConfig
from specbench.engines.registry import engine_spec
from specbench.results.files import check_writable, result_path
from specbench.results.sweep import SessionSummary
from specbench.session.engine_args import engine_args
from specbench.session.engine_log import EngineLog
from specbench.session.layout import RunLayout
from specbench.session.models import check_context, ignored_settings_notes, resolve_models, workload_tokenizer
from specbench.session.points import ListedPoints, PointGenerator, PointSource, PointSpec
from specbench.session.slo_search import MaxRateSearch
from specbench.session.sweep import RateSweep
from specbench.session.workload_notes import question_notes, speculation_notes
from specbench.settings import SessionPlan
from specbench.workload.builder import build_workload
from specbench.workload.tokenizer import PromptTokenizer
from specbench.workload.types import Workload


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
    drawn: int = 0  # prompts the points built so far drew: the next point draws others (build_workload)


def prepare_plan(layout: RunLayout) -> list[PreparedSession]:
    """Prepare every session, then prove the results can be written there; creates nothing, so the run and a
    dry run make the same checks. Raises ConfigError on the first problem."""
    # A head-to-head must not fail on its last combination's bad dataset after the first ran ten minutes.
    for session_plan in layout.plan.sessions:
        config = session_plan.config
        if config.is_speculative and config.speculative.synthetic:
            engine_spec(config.engine).check_synthetic_acceptance(engine_args(config))
    prepared = [prepare_session(session_plan, layout) for session_plan in layout.plan.sessions]
    first = layout.plan.sessions[0].config
    where = "--output" if layout.directory is None and first.output.path is not None else "--output-dir"
    check_writable(layout.directory or result_path(first).parent, where)
    return prepared


def prepare_session(session_plan: SessionPlan, layout: RunLayout) -> PreparedSession:
    config, notes = resolve_models(session_plan.config)
    notes += ignored_settings_notes(config, session_plan.sources)
    notes += sweep_notes(session_plan)
    tokenizer = workload_tokenizer(config)
    source = point_source(session_plan, tokenizer)
    points = source.points()
    first = next(points)
    first = replace(first, workload=first.workload or build_workload(first.config, tokenizer))
    check_context(config, first.workload)
    notes += speculation_notes(config)
    notes += question_notes(config, first.workload.summary)
    return PreparedSession(
        config=config,
        notes=notes,
        tokenizer=tokenizer,
        source=source,
        points=points,
        first=first,
        log=EngineLog(layout.engine_log(first.config)),
        summary=SessionSummary(label=layout.session_label(config), kind=source.kind),
        drawn=drawn_prompts(first.workload),
    )


def point_source(session_plan: SessionPlan, tokenizer: PromptTokenizer) -> PointSource:
    """A --sweep, the SLO search, or the plan's own list (every workload built now, before any engine)."""
    base = session_plan.points[0]
    if base.config.sweep.points is not None:
        return RateSweep(base)
    if base.config.sweep.find_max_rate:
        return MaxRateSearch(base)
    listed, drawn = [], 0
    for point in session_plan.points:
        workload = build_workload(point.config, tokenizer, earlier=drawn)
        drawn += drawn_prompts(workload)
        listed.append(PointSpec(point, workload))
    return ListedPoints(listed)


def drawn_prompts(workload: Workload | None) -> int:
    """How many prompts a point's workload drew, warm-up included."""
    return len(workload.warmup) + len(workload.requests) if workload is not None else 0


def sweep_notes(session_plan: SessionPlan) -> list[str]:
    """Say so when a setting the user chose is replaced by what the sweep chooses."""
    origin = session_plan.sources.get("workload.rate", "default")
    if session_plan.config.sweep.points is not None and origin != "default":
        return [f"--sweep chooses every point's rate: workload.rate ({origin}) is not used"]
    return []
