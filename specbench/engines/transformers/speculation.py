"""Count what assisted generation actually drafted and accepted, round by round.

Transformers builds a fresh candidate generator (AssistedCandidateGenerator for a draft model,
PromptLookupCandidateGenerator for prompt lookup) inside every assisted generate() call and, each
round, calls get_candidates() (the draft) then update_candidate_strategy(..., num_matches) (the
verdict of one target forward pass). Wrapping those two calls on that per-call object gives exact
counts without touching the decoding loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from specbench.speculative import spec_stats

if TYPE_CHECKING:
    from transformers import PreTrainedModel


@dataclass(slots=True)
class DraftCounts:
    """One request's speculation rounds: (drafted, accepted) per target forward pass."""

    rounds: list[tuple[int, int]] = field(default_factory=list)

    @property
    def drafted(self) -> int:
        return sum(d for d, _ in self.rounds)

    @property
    def accepted(self) -> int:
        return sum(a for _, a in self.rounds)

    @property
    def target_forward_passes(self) -> int:
        return len(self.rounds)

    @property
    def drafts(self) -> int:
        """Rounds that proposed at least one token: as in vLLM and SpeculationTotals, no others count."""
        return sum(1 for d, _ in self.rounds if d > 0)


@dataclass(slots=True)
class SpeculationTotals:
    """Run-wide counters with the vLLM engine's names and meanings."""

    num_drafts: int = 0
    num_draft_tokens: int = 0
    num_accepted_tokens: int = 0
    accepted_per_position: list[int] = field(default_factory=list)

    def add(self, counts: DraftCounts) -> None:
        for drafted, accepted in counts.rounds:
            # As in vLLM, a round that proposed nothing (e.g. no n-gram match) is not a draft.
            if drafted == 0:
                continue
            self.num_drafts += 1
            self.num_draft_tokens += drafted
            self.num_accepted_tokens += accepted
            if len(self.accepted_per_position) < drafted:
                self.accepted_per_position.extend([0] * (drafted - len(self.accepted_per_position)))
            for position in range(accepted):
                self.accepted_per_position[position] += 1

    def as_stats(self) -> dict[str, Any]:
        return spec_stats(
            self.num_drafts, self.num_draft_tokens, self.num_accepted_tokens, self.accepted_per_position
        )


def _wrap_candidate_generator(generator: Any, counts: DraftCounts) -> Any:
    original_get = generator.get_candidates
    original_update = generator.update_candidate_strategy
    pending = [0]

    def get_candidates(input_ids: Any, *args: Any, **kwargs: Any) -> Any:
        result = original_get(input_ids, *args, **kwargs)
        pending[0] = int(result[0].shape[-1] - input_ids.shape[-1])
        return result

    def update_candidate_strategy(input_ids: Any, scores: Any, num_matches: Any) -> Any:
        counts.rounds.append((pending[0], int(num_matches)))
        pending[0] = 0
        return original_update(input_ids, scores, num_matches)

    # Instance attributes shadow the methods on this one per-call object only.
    generator.get_candidates = get_candidates
    generator.update_candidate_strategy = update_candidate_strategy
    return generator


@contextmanager
def counting_drafts(model: PreTrainedModel) -> Iterator[DraftCounts]:
    """Within the block, every assisted generate() on `model` records its rounds in the yielded counts.

    Only one generate() may run on `model` at a time (the engine's single generation thread).
    """
    counts = DraftCounts()
    original = model._get_candidate_generator

    def get_candidate_generator(*args: Any, **kwargs: Any) -> Any:
        return _wrap_candidate_generator(original(*args, **kwargs), counts)

    model._get_candidate_generator = get_candidate_generator
    try:
        yield counts
    finally:
        del model._get_candidate_generator
