"""The comparison said the way people say it: 'vllm · target-ar: 7.3× the output throughput of …'."""

from __future__ import annotations

from collections.abc import Sequence

from specbench.compare.rows import SAME_WITHIN, Row

# The figures a sentence names, when the runs have them: the one throughput people quote first, then the
# two latencies a user feels.
HEADLINE: tuple[tuple[str, str], ...] = (
    ("output_throughput", "output throughput"),
    ("median_ttft_ms", "median TTFT"),
    ("median_tpot_ms", "median TPOT"),
)


def speedup_sentences(labels: Sequence[str], baseline: int, rows: Sequence[Row]) -> list[str]:
    """One sentence per run beside the baseline, e.g. 'vllm · target-ar: 7.3× the output throughput of
    transformers · target-ar, 4.1× lower median TTFT, 6.0× lower median TPOT'."""
    by_key = {row.key: row for row in rows}
    sentences = []
    for i, label in enumerate(labels):
        if i == baseline:
            continue
        parts = []
        for key, name in HEADLINE:
            row = by_key.get(key)
            r = row.ratios[i] if row is not None else None
            if row is None or r is None or r <= 0:
                continue
            parts.append(_phrase(r, name, row.better == "higher", first=not parts, baseline=labels[baseline]))
        if parts:
            sentences.append(f"{label}: " + ", ".join(parts))
    return sentences


def times(r: float) -> str:
    """7.3×, 12×, 1.04×: two significant figures, three near 1 where two would read as 1.0×."""
    if r >= 10:
        return f"{r:.0f}×"
    if 0.95 <= r < 1.1:
        return f"{r:.2f}×"
    return f"{r:.2g}×" if r < 1 else f"{r:.1f}×"


def _phrase(r: float, name: str, higher_is_better: bool, *, first: bool, baseline: str) -> str:
    if abs(r - 1) < SAME_WITHIN:
        return f"the same {name}" + (f" as {baseline}" if first else "")
    if higher_is_better:
        phrase = f"{times(r)} the {name}"
    elif r < 1:
        phrase = f"{times(1 / r)} lower {name}"
    else:
        phrase = f"{times(r)} higher {name}"
    if first:
        phrase += f" {'of' if higher_is_better else 'than'} {baseline}"
    return phrase
