"""The speculative-decoding figures every engine reports, with vLLM's names and definitions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def spec_stats(
    drafts: int, draft_tokens: int, accepted: int, accepted_per_position: Sequence[int]
) -> dict[str, Any]:
    """Flat stats from run-wide counts: a draft is one proposal of at least one token."""
    return {
        "spec_num_drafts": drafts,
        "spec_num_draft_tokens": draft_tokens,
        "spec_num_accepted_tokens": accepted,
        "spec_acceptance_rate": accepted / draft_tokens if draft_tokens else None,
        # vLLM's definition: the bonus token the target always adds, plus the accepted drafts.
        "spec_mean_acceptance_length": 1 + accepted / drafts if drafts else None,
        # Each position's acceptances over all drafts, so with a varying draft length (heuristic
        # schedule, prompt lookup) later positions read low by design.
        "spec_acceptance_per_position": [n / drafts for n in accepted_per_position] if drafts else [],
    }
