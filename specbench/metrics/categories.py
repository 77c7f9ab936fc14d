"""Figures per prompt category (MT-bench / Spec-Bench tasks): acceptance depends on what is asked.

Every figure is computed from the records of one category alone, with the run-wide definitions: TPOT as
vLLM defines it, the speculative figures from the same sums as `spec_*` (speculative.py). Two throughputs,
because a category shares its run's time with the others:

- output_throughput: the category's output tokens over the measured duration (vLLM's definition on a
  subset): the categories' values add up to the run's.
- mean_decode_tokens_per_s: the mean over requests of each request's decoding speed, (output tokens − 1)
  / (E2EL − TTFT) = 1000 / TPOT. Spec-Bench's per-request speed (tokens / wall time) without the prefill and
  the engine queueing that TTFT holds; its speed-up is the ratio of these means (compare/categories.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from specbench.metrics.compute import MetricValue, speculative_metrics
from specbench.records import RequestRecord

CategoryFigures = dict[str, MetricValue]
# The figures of a category, in the order tables show them.
CATEGORY_KEYS = (
    "completed",
    "failed",
    "total_output_tokens",
    "output_throughput",
    "mean_decode_tokens_per_s",
    "mean_tpot_ms",
    "spec_num_drafts",
    "spec_num_draft_tokens",
    "spec_num_accepted_tokens",
    "spec_acceptance_rate",
    "spec_mean_acceptance_length",
)


def category_figures(records: Sequence[RequestRecord], *, duration_s: float) -> dict[str, CategoryFigures]:
    """Figures of each category, by name in sorted order; empty when no record has a category."""
    by_category: dict[str, list[RequestRecord]] = defaultdict(list)
    for record in records:
        if record.category is not None:
            by_category[record.category].append(record)
    return {name: _figures(by_category[name], duration_s) for name in sorted(by_category)}


def _figures(records: Sequence[RequestRecord], duration_s: float) -> CategoryFigures:
    done = [r for r in records if r.success]
    output_tokens = sum(r.output_tokens for r in done)
    tpots = [tpot for r in done if (tpot := r.tpot_ms) is not None]
    speeds = [1000.0 / tpot for tpot in tpots if tpot > 0]
    figures: CategoryFigures = {
        "completed": len(done),
        "failed": len(records) - len(done),
        "total_output_tokens": output_tokens,
        "output_throughput": output_tokens / duration_s if duration_s > 0 else None,
        "mean_decode_tokens_per_s": float(np.mean(speeds)) if speeds else None,
        "mean_tpot_ms": float(np.mean(tpots)) if tpots else None,
    }
    spec = speculative_metrics(done)
    figures.update({key: spec[key] for key in CATEGORY_KEYS if key in spec})
    return figures
