"""A generate() streamer that timestamps every decoding step where it happens."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch
from transformers.generation.streamers import BaseStreamer

from specbench.engines.base import Completion, TokenChunk
from specbench.engines.transformers.channel import Item, RequestChannel, deliver


class TimestampStreamer(BaseStreamer):
    """Turns generate()'s put() calls into per-request TokenChunks.

    put() runs in the generation thread right after the step's tokens reach the host, so the
    perf_counter() taken there is when the tokens exist, whatever the event loop is doing. The first
    put() is the prompt and is skipped. A step delivers `(batch,)` tokens (one per row) or
    `(batch, k)` (assisted generation: k accepted tokens at once). Each row stops counting at its
    own request's max_tokens; with `finish_rows` set (plain decoding), that row's Completion is sent
    at once, so a short request in a batch ends when its last token exists, not when the batch does.
    """

    def __init__(
        self,
        channels: Sequence[RequestChannel],
        *,
        finish_rows: bool,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._channels = channels
        self._finish_rows = finish_rows
        self._clock = clock
        self._prompt_seen = False
        self.steps = 0
        self.first_step_time: float | None = None

    def put(self, value: torch.Tensor) -> None:
        now = self._clock()
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self.steps += 1
        if self.first_step_time is None:
            self.first_step_time = now
        per_row = 1 if value.dim() == 1 else int(value.shape[-1])
        batch: list[tuple[RequestChannel, Item]] = []
        for channel in self._channels:
            wanted = channel.request.max_tokens - channel.emitted
            if wanted <= 0 or channel.finished:
                continue
            count = min(per_row, wanted)
            channel.emitted += count
            batch.append((channel, TokenChunk(now, count)))
            if self._finish_rows and channel.emitted == channel.request.max_tokens:
                channel.finished = True
                batch.append((channel, self.completion_for(channel)))
        if batch:
            deliver(batch[0][0].loop, batch)

    def end(self) -> None:
        pass

    def completion_for(self, channel: RequestChannel) -> Completion:
        """Exact counts for plain decoding: one target forward pass per step so far."""
        return Completion(
            prompt_tokens=len(channel.request.prompt_token_ids),
            output_tokens=channel.emitted,
            target_forward_passes=self.steps,
            finish_reason="length" if channel.emitted >= channel.request.max_tokens else "abort",
        )
