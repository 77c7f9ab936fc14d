"""The engine seam: what every inference engine (in-process or remote) offers the runner.

An engine knows nothing of the CLI, the schedule or the metrics. The runner hands it one
`EngineRequest` at a time (many may be in flight) and reads a stream of events back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(slots=True, frozen=True)
class Message:
    """One message of a conversation's history: its text where known, else its token ids."""

    role: str  # "user" or "assistant"
    token_ids: list[int]
    text: str | None = None


@dataclass(slots=True, frozen=True)
class EngineRequest:
    """One request as the engine sees it. Prompts are token ids so input lengths are exact."""

    request_id: int
    prompt_token_ids: list[int]
    max_tokens: int
    ignore_eos: bool = True
    prompt_text: str | None = None
    # A conversation's later turn: prompt_token_ids is the whole history then the new turn, flat; engines
    # that take chat messages send these instead (the earlier turns, the answers, the new turn).
    messages: tuple[Message, ...] = ()
    # A later turn will carry this answer in its history: the Completion must give its tokens (and text).
    keep_output: bool = False


@dataclass(slots=True, frozen=True)
class TokenChunk:
    """`num_tokens` new output tokens became visible at `time` (time.perf_counter()).

    The timestamp is taken where the tokens are produced (in the engine's thread or output
    handler), not when the runner gets round to reading the event, so a busy event loop does not
    distort inter-token latencies.
    """

    time: float
    num_tokens: int


@dataclass(slots=True, frozen=True)
class Completion:
    """The last event of every successful stream: exact counts as the engine saw them."""

    prompt_tokens: int
    output_tokens: int
    # Speculative decoding only: what the drafter proposed and the target accepted for this request.
    drafted_tokens: int | None = None
    accepted_tokens: int | None = None
    # Target-model forward passes used for this request's decode (speculative and AR on Transformers).
    target_forward_passes: int | None = None
    finish_reason: str | None = None
    # Verification steps that had a draft of at least one token (vLLM's spec_decode_num_drafts, per request).
    drafts: int | None = None
    # The generated token ids, where the engine sees them (the lossless check compares them across methods).
    output_token_ids: list[int] | None = None
    # The answer's text where the request asked for it (keep_output): a conversation's history.
    output_text: str | None = None
    # Prompt tokens the engine found in its prefix cache for this request, where it says.
    cached_prompt_tokens: int | None = None
    # Reasoning models: when the first answer token (not reasoning) arrived (perf_counter), and how many
    # output tokens were reasoning.
    first_answer_time: float | None = None
    reasoning_tokens: int | None = None


StreamEvent = TokenChunk | Completion


@dataclass(slots=True, frozen=True)
class DevicePlacement:
    """The GPUs an engine computes on, for GPU telemetry and the decode roofline."""

    # CUDA ordinals, i.e. positions in CUDA_VISIBLE_DEVICES (every GPU when unset); () = no GPU.
    cuda_devices: tuple[int, ...] = ()
    tensor_parallel_size: int = 1  # the weights are split over this many of them
    weights_dtype: str | None = None  # e.g. "bfloat16"; None when not known


@dataclass(slots=True)
class EngineInfo:
    """What the result header says about the engine."""

    name: str
    version: str | None
    model: str
    method: str
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    placement: DevicePlacement = field(default_factory=DevicePlacement)
    # The longest sequence the started engine takes, where it says (a served model's max_model_len).
    max_model_len: int | None = None


@runtime_checkable
class Engine(Protocol):
    """start → generate (many, concurrently) → figures → shutdown."""

    async def start(self) -> None:
        """Load the model and get ready to serve; raise EngineStartError with a one-line reason."""

    def generate(self, request: EngineRequest) -> AsyncIterator[StreamEvent]:
        """Stream TokenChunk events, then exactly one Completion. Raise on failure."""

    def describe(self) -> EngineInfo:
        """Engine name, version, model and every setting that shaped the measurement."""

    async def figures(self) -> dict[str, Any]:
        """Engine-side figures for the whole run (flat keys), e.g. spec-decode counters."""

    async def reset_figures(self) -> None:
        """Forget engine-side figures gathered so far (called after warm-up)."""

    async def wait_idle(self) -> None:
        """Return once nothing the engine was given is still in it, cancelled requests included (between
        the points of a sweep); raise if it can no longer serve."""

    async def shutdown(self) -> None:
        """Release the model and every process the engine started."""


@runtime_checkable
class ForgetsPrompts(Protocol):
    """An engine that can empty its prefix cache (vLLM's `reset_prefix_cache`), so that a point of a session
    starts as cold as the first: no prompt of an earlier point can be served from the cache."""

    async def forget_prompts(self) -> bool:
        """Empty the prefix cache while idle; returns whether the engine did."""
