"""The echo engine's speculative decoding: no model, but the arithmetic of one.

Each step drafts K tokens and verifies them in one target pass; the target keeps the accepted prefix and
adds one token of its own, so a step yields 1 + accepted tokens as one chunk. Which positions a step
accepts follows vLLM's synthetic rejection sampling (per-position unconditional rates, a length turned
into rates the same way), but deterministically: step s accepts position i when u_s < rate_i, with u_s a
low-discrepancy sequence, so whole rates (0 or 1) give exact counts and the others converge fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# The golden-ratio sequence: frac(s × φ) fills [0, 1) more evenly than random numbers.
_PHI = (math.sqrt(5) - 1) / 2


@dataclass(slots=True)
class EchoSpeculation:
    """Acceptance rates per draft position and the cost of one step; counts what it drafted and accepted."""

    rates: list[float]
    draft_s: float  # drafting K tokens, once per step
    verify_s: float  # the target's pass over K + 1 tokens
    load_s_per_token: float  # added per token computed in the step, for every request in service
    drafts: int = 0
    accepted_per_position: list[int] = field(default_factory=list)
    _step: int = 0

    def __post_init__(self) -> None:
        self.accepted_per_position = [0] * len(self.rates)

    @property
    def k(self) -> int:
        return len(self.rates)

    def step_s(self, in_service: int) -> float:
        """Wall time of one draft + verification step while `in_service` requests share the engine."""
        return self.draft_s + self.verify_s + self.load_s_per_token * in_service * (self.k + 1)

    def next_accepted(self) -> int:
        """Draft tokens the next step accepts (a prefix: rates do not increase), counted as a draft."""
        u = (self._step * _PHI + _PHI / 2) % 1.0
        self._step += 1
        accepted = sum(1 for rate in self.rates if u < rate)
        self.drafts += 1
        for position in range(accepted):
            self.accepted_per_position[position] += 1
        return accepted

    def reset(self) -> None:
        self.drafts = 0
        self.accepted_per_position = [0] * self.k
