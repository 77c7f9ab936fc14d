"""What the runner sends: a fixed, precomputed list of requests with their due times."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True, frozen=True)
class PlannedTurn:
    """A later turn of a conversation: sent `think_s` after the previous answer, with the history first."""

    request_id: int
    prompt_token_ids: list[int]
    max_tokens: int
    think_s: float
    prompt_text: str | None = None


@dataclass(slots=True, frozen=True)
class PlannedRequest:
    request_id: int
    scheduled_s: float  # seconds after the benchmark's start; warm-up requests have 0.0
    prompt_token_ids: list[int]
    max_tokens: int
    prompt_text: str | None = None
    category: str | None = None  # the dataset's category of this prompt (per-category figures)
    # Conversations: this request is a session's first turn; these follow it, one answer at a time.
    later_turns: tuple[PlannedTurn, ...] = ()

    @property
    def longest_prompt(self) -> int:
        """The longest prompt this request makes: a conversation's last turn carries every earlier prompt
        and answer (each answer at most its max_tokens)."""
        if not self.later_turns:
            return len(self.prompt_token_ids)
        history = len(self.prompt_token_ids) + self.max_tokens
        for turn in self.later_turns[:-1]:
            history += len(turn.prompt_token_ids) + turn.max_tokens
        return history + len(self.later_turns[-1].prompt_token_ids)


@dataclass(slots=True)
class Workload:
    warmup: list[PlannedRequest]
    requests: list[PlannedRequest]
    # Stop sending once this much time has passed (rate mode, or --duration as a cap in count mode).
    send_window_s: float | None
    summary: dict[str, Any] = field(default_factory=dict)
    # The prompts share prefixes on purpose (prefix groups, a trace's shared blocks, conversation history):
    # prefix-cache hits are part of what is measured, not a leak from an earlier point.
    shares_prefixes: bool = False

    @property
    def num_turns(self) -> int:
        """Every request the measured part plans to send, later conversation turns included."""
        return sum(1 + len(r.later_turns) for r in self.requests)
