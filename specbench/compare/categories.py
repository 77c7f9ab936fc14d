"""Speculative runs beside their autoregressive partner: speed-up per prompt category and the lossless check.

A speculative run's partner is the target-ar run of the same engine and model among those compared. Per
category the speed-up is Spec-Bench's: the ratio of the mean per-request decoding speeds
(metrics/categories.py). With greedy decoding speculative decoding must give exactly the autoregressive
output, so with real weights each request's output token ids are compared (Spec-Bench's equality check);
batched GPU kernels may legitimately diverge late, so the rate and the first diverging positions are reported,
never hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from specbench.records import RequestRecord
from specbench.results.model import BenchmarkResult
from specbench.results.readers import LoadedRun
from specbench.results.readers.records import NoRecords, load_records

AR_METHOD = "target-ar"
SPECULATIVE_METHODS = frozenset({"speculative", "prompt-lookup"})
# Engines without a model have no output to keep: no lossless check for them.
NO_MODEL_ENGINES = frozenset({"echo"})


@dataclass(frozen=True, slots=True)
class LosslessCheck:
    """One speculative run's outputs against its autoregressive partner's, request by request."""

    run: str
    reference: str
    compared: int = 0
    identical: int = 0
    diverging: tuple[tuple[int, int], ...] = ()  # (request id, first position that differs)
    not_checked: str | None = None  # why the outputs could not be compared

    def sentence(self) -> str:
        head = f"lossless check, {self.run} against {self.reference}"
        if self.not_checked is not None:
            return f"{head}: not checked ({self.not_checked})"
        text = f"{head}: identical: {self.identical} of {self.compared}"
        if self.diverging:
            shown = ", ".join(f"request {rid} at token {pos}" for rid, pos in self.diverging[:10])
            more = f" and {len(self.diverging) - 10} more" if len(self.diverging) > 10 else ""
            text += f"; first divergence: {shown}{more}"
        return text


@dataclass(frozen=True, slots=True)
class CategoryColumn:
    """One run's figures per category, with its speed-up over its partner where it has one."""

    label: str
    figures: dict[str, dict[str, object]]
    speculative: bool
    partner: str | None = None
    speedup: dict[str, float | None] | None = None


@dataclass(frozen=True, slots=True)
class CategoryComparison:
    categories: tuple[str, ...]
    columns: tuple[CategoryColumn, ...]
    lossless: tuple[LosslessCheck, ...]


def compare_categories(labels: Sequence[str], loaded: Sequence[LoadedRun]) -> CategoryComparison | None:
    """None when no run has per-category figures nor a speculative run an AR partner."""
    results = [run.result for run in loaded]
    partners = [_partner(i, results) for i in range(len(results))]
    columns = []
    for i, result in enumerate(results):
        if result is None or not result.categories:
            continue
        partner = partners[i]
        partner_result = results[partner] if partner is not None else None
        columns.append(
            CategoryColumn(
                label=labels[i],
                figures=dict(result.categories),
                speculative=result.engine.method in SPECULATIVE_METHODS,
                partner=labels[partner] if partner is not None else None,
                speedup=_speedups(result, partner_result) if partner_result is not None else None,
            )
        )
    lossless = tuple(
        lossless_check(labels[i], loaded[i], labels[partner], loaded[partner])
        for i, partner in enumerate(partners)
        if partner is not None and _has_model(results[i])
    )
    if not columns and not lossless:
        return None
    categories = tuple(sorted({name for column in columns for name in column.figures}))
    return CategoryComparison(categories=categories, columns=tuple(columns), lossless=lossless)


def first_divergence(a: Sequence[int], b: Sequence[int]) -> int | None:
    """The first position where two outputs differ (the shorter one's length if one is a prefix of the other),
    None when they are identical."""
    for position, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return position
    return None if len(a) == len(b) else min(len(a), len(b))


def lossless_check(label: str, run: LoadedRun, reference_label: str, reference: LoadedRun) -> LosslessCheck:
    check = LosslessCheck(run=label, reference=reference_label)
    assert run.result is not None and reference.result is not None  # partners have results
    if run.result.config.get("dummy_weights") or reference.result.config.get("dummy_weights"):
        return _skipped(check, "dummy weights: there is no output to keep")
    try:
        records, reference_records = load_records(run), load_records(reference)
    except NoRecords as exc:
        return _skipped(check, str(exc))
    theirs = {r.request_id: r for r in reference_records if r.success}
    pairs = [(r, theirs[r.request_id]) for r in records if r.success and r.request_id in theirs]
    if any(r.prompt_tokens != t.prompt_tokens or r.category != t.category for r, t in pairs):
        return _skipped(check, "the two runs sent different prompts (another dataset or seed)")
    pairs = [(r, t) for r, t in pairs if r.output_token_ids is not None and t.output_token_ids is not None]
    if not pairs:
        return _skipped(
            check, "their records hold no output token ids (the engine reports none, or --no-save-output-ids)"
        )
    diverging = []
    for ours, ref in pairs:
        position = first_divergence(_ids(ours), _ids(ref))
        if position is not None:
            diverging.append((ours.request_id, position))
    return LosslessCheck(
        run=label,
        reference=reference_label,
        compared=len(pairs),
        identical=len(pairs) - len(diverging),
        diverging=tuple(diverging),
    )


def _ids(record: RequestRecord) -> list[int]:
    assert record.output_token_ids is not None
    return record.output_token_ids


def _has_model(result: BenchmarkResult | None) -> bool:
    return result is not None and result.engine.name not in NO_MODEL_ENGINES


def _skipped(check: LosslessCheck, reason: str) -> LosslessCheck:
    return LosslessCheck(run=check.run, reference=check.reference, not_checked=reason)


def _partner(index: int, results: Sequence[BenchmarkResult | None]) -> int | None:
    """The target-ar run of the same engine and model, for a speculative run."""
    result = results[index]
    if result is None or result.engine.method not in SPECULATIVE_METHODS:
        return None
    for i, other in enumerate(results):
        if (
            other is not None
            and other.engine.method == AR_METHOD
            and other.engine.name == result.engine.name
            and other.engine.model == result.engine.model
        ):
            return i
    return None


def _speedups(result: BenchmarkResult, partner: BenchmarkResult) -> dict[str, float | None]:
    ours, theirs = result.categories or {}, partner.categories or {}
    speedups: dict[str, float | None] = {}
    for name, figures in ours.items():
        speed, base = (
            figures.get("mean_decode_tokens_per_s"),
            theirs.get(name, {}).get("mean_decode_tokens_per_s"),
        )
        ok = isinstance(speed, int | float) and isinstance(base, int | float) and base > 0
        speedups[name] = speed / base if ok else None  # type: ignore[operator]
    return speedups
