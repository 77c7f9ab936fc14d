"""A generate() streamer that timestamps every decoding step where it happens."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch
from transformers.generation.streamers import BaseStreamer

from specbench.engines.base import Completion, TokenChunk
from specbench.engines.transformers.channel import Item, RequestChannel, deliver

# Longest a stamped token may wait in the generation thread before the event loop is woken for it.
# Waking the loop for every token costs the generation thread a few percent on a fast CPU model; a
# token's timestamp is taken at put() either way, so batching the hand-over changes no measurement.
DELIVERY_INTERVAL_S = 0.02


class Abandoned(Exception):
    """Raised inside generate() to stop it: every request in it was abandoned or the engine stops."""


class TimestampStreamer(BaseStreamer):
    """Turns generate()'s put() calls into per-request TokenChunks.

    put() runs in the generation thread right after the step's tokens reach the host, so the
    perf_counter() taken there is when the tokens exist, whatever the event loop is doing. The first
    put() is the prompt and is skipped. A step delivers `(batch,)` tokens (one per row) or
    `(batch, k)` (assisted generation: k accepted tokens at once). Each row stops counting at its
    own request's max_tokens; with `finish_rows` set (plain decoding), that row's Completion is sent
    at once, so a short request in a batch ends when its last token exists, not when the batch does.

    Chunks reach the loop at most every DELIVERY_INTERVAL_S (all pending ones in one wake-up);
    Completions and end() flush at once. `should_stop` is polled every step: when it returns True,
    put() raises Abandoned, which ends generate() without any per-step work on the device.
    """

    def __init__(
        self,
        channels: Sequence[RequestChannel],
        *,
        finish_rows: bool,
        should_stop: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.perf_counter,
        interval_s: float = DELIVERY_INTERVAL_S,
    ) -> None:
        self._channels = channels
        self._finish_rows = finish_rows
        self._should_stop = should_stop
        self._clock = clock
        self._interval_s = interval_s
        self._prompt_seen = False
        self._pending: list[tuple[RequestChannel, Item]] = []
        self._last_delivery = -float("inf")
        self.steps = 0

    def put(self, value: torch.Tensor) -> None:
        now = self._clock()
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self.steps += 1
        per_row = 1 if value.dim() == 1 else int(value.shape[-1])
        pending = self._pending
        urgent = False
        for row, channel in enumerate(self._channels):
            wanted = channel.request.max_tokens - channel.emitted
            if wanted <= 0 or channel.finished:
                continue
            count = min(per_row, wanted)
            channel.emitted += count
            if channel.request.keep_output:  # rows follow the channels' order (worker.py)
                channel.output_ids += value.reshape(len(self._channels), -1)[row][:count].tolist()
            pending.append((channel, TokenChunk(now, count)))
            if self._finish_rows and channel.emitted == channel.request.max_tokens:
                channel.finished = True
                pending.append((channel, self.completion_for(channel)))
                urgent = True
        if urgent or now - self._last_delivery >= self._interval_s:
            self.flush(now)
        if self._should_stop():
            raise Abandoned

    def end(self) -> None:
        self.flush()

    def flush(self, now: float | None = None) -> None:
        """Hand every pending event to the loop now."""
        if self._pending:
            deliver(self._pending[0][0].loop, self._pending)
            self._pending = []
        self._last_delivery = self._clock() if now is None else now

    def completion_for(self, channel: RequestChannel) -> Completion:
        """Exact counts for plain decoding: one target forward pass per step so far."""
        return Completion(
            prompt_tokens=len(channel.request.prompt_token_ids),
            output_tokens=channel.emitted,
            target_forward_passes=self.steps,
            finish_reason="length" if channel.emitted >= channel.request.max_tokens else "abort",
        )
