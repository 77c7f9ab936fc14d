"""The speculative-decoding figures every engine reports, with vLLM's names and definitions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def spec_stats(
    drafts: int | None,
    draft_tokens: int,
    accepted: int,
    accepted_per_position: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Flat stats from run-wide counts: a draft is one proposal of at least one token.

    Engines call this with their counters, metrics with sums over per-request records (which know no
    per-position counts, and no draft count when an engine did not report forward passes: None).
    """
    stats: dict[str, Any] = {
        "spec_num_drafts": drafts,
        "spec_num_draft_tokens": draft_tokens,
        "spec_num_accepted_tokens": accepted,
        "spec_acceptance_rate": accepted / draft_tokens if draft_tokens else None,
        # vLLM's definition: the bonus token the target always adds, plus the accepted drafts.
        "spec_mean_acceptance_length": 1 + accepted / drafts if drafts else None,
    }
    if accepted_per_position is not None:
        # Each position's acceptances over all drafts, so with a varying draft length (heuristic
        # schedule, prompt lookup) later positions read low by design.
        stats["spec_acceptance_per_position"] = [n / drafts for n in accepted_per_position] if drafts else []
    return stats


def accepted_per_position(histogram: Mapping[int, int]) -> list[int]:
    """Drafts whose token i was accepted, for each position i, from how many drafts accepted exactly j
    tokens (the histogram AIPerf and vLLM's per-request metrics report): token i is accepted in every
    draft that accepted more than i. Its keys run from 0 to the draft length."""
    return [sum(n for j, n in histogram.items() if j > i) for i in range(max(histogram, default=0))]
