"""Line runs up side by side: their facts, the chosen figures with ratios to a baseline, the speed-up in
words and every reason the comparison may be unfair."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from specbench.compare.categories import CategoryComparison, compare_categories
from specbench.compare.facts import RunFacts, facts_of
from specbench.compare.fairness import LOAD, run_problems, unfair_differences
from specbench.compare.labels import unique_labels
from specbench.compare.rows import Row, build_rows, other_rows
from specbench.compare.selection import selected_keys
from specbench.compare.speedup import speedup_sentences
from specbench.errors import ConfigError
from specbench.results.model import BenchmarkResult
from specbench.results.prefix_cache import prefix_cache_warning
from specbench.results.readers import LoadedRun


@dataclass(frozen=True, slots=True)
class ComparedRun:
    """One column: a run as read, under a label unique in its comparison."""

    label: str
    loaded: LoadedRun
    facts: RunFacts | None

    @property
    def result(self) -> BenchmarkResult | None:
        return self.loaded.result

    @property
    def path(self) -> Path:
        return self.loaded.path

    @property
    def error(self) -> str | None:
        return self.loaded.error


@dataclass(frozen=True, slots=True)
class Comparison:
    runs: tuple[ComparedRun, ...]
    baseline: int
    rows: tuple[Row, ...]
    speedups: tuple[str, ...]
    warnings: tuple[str, ...]
    # Per prompt category, and each speculative run's outputs against its target-ar partner's.
    categories: CategoryComparison | None = None

    @property
    def baseline_run(self) -> ComparedRun:
        return self.runs[self.baseline]


def compare_runs(
    loaded: Sequence[LoadedRun],
    *,
    baseline: int | None = None,
    metrics: Sequence[str] | None = None,
    load_varied: bool = False,
) -> Comparison:
    """`baseline` is the index of the run the ratios divide by (default: the first that has a result);
    `metrics` names the rows (default: selection.DEFAULT_METRICS); `load_varied` says the runs are the
    points of one sweep, whose differing load is the point, not a warning."""
    if not loaded:
        raise ConfigError("nothing to compare: pass result files or directories")
    labels = unique_labels(loaded)
    runs = tuple(
        ComparedRun(label=label, loaded=run, facts=facts_of(run.result) if run.result is not None else None)
        for label, run in zip(labels, loaded, strict=True)
    )
    base = _baseline(runs, baseline)
    results = [run.result for run in runs]
    rows = build_rows(selected_keys(metrics), results, base)
    if metrics is None:
        rows += other_rows(results, base)  # a newer specbench's figures are shown, not dropped
    warnings = unfair_differences(labels, [run.facts for run in runs], intended=[LOAD] if load_varied else [])
    for run in runs:
        notes = list(run.result.run.warnings) if run.result is not None else []
        # Results written before the run itself warned (or by another tool) are checked here.
        cached = prefix_cache_warning(run.result.metrics, run.result.workload) if run.result else None
        if cached is not None and cached not in notes:
            notes.append(cached)
        warnings += run_problems(run.label, run.facts, run.error, notes)
    return Comparison(
        runs=runs,
        baseline=base,
        rows=tuple(rows),
        speedups=tuple(speedup_sentences(labels, base, rows)),
        warnings=tuple(warnings),
        categories=compare_categories(labels, loaded),
    )


def _baseline(runs: Sequence[ComparedRun], chosen: int | None) -> int:
    if chosen is None:
        return next((i for i, run in enumerate(runs) if run.result is not None), 0)
    if not 0 <= chosen < len(runs):
        raise ConfigError(f"--baseline {chosen + 1}: there are {len(runs)} runs; pick 1 to {len(runs)}")
    if runs[chosen].result is None:
        raise ConfigError(
            f"--baseline {chosen + 1} is {runs[chosen].label}, which has no result: pick another run"
        )
    return chosen
