"""Continuous batching with Transformers' own paged-attention manager (init_continuous_batching)."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import math
import time
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from specbench.engines.base import Completion, TokenChunk
from specbench.engines.transformers.channel import RequestChannel
from specbench.errors import EngineStartError

if TYPE_CHECKING:
    from transformers import PreTrainedModel

# CPU has no "free GPU memory" to size the paged cache from, so it gets this many tokens of KV
# cache per batch slot (prompt + output beyond this would wait for blocks).
_CPU_TOKENS_PER_SLOT = 4096


def _cb_config(model: PreTrainedModel, max_batch_size: int, compile_on: bool) -> Any:
    try:
        from transformers import ContinuousBatchingConfig
    except ImportError:
        from transformers.generation.configuration_utils import ContinuousBatchingConfig
    names = {f.name for f in fields(ContinuousBatchingConfig)}
    options: dict[str, Any] = {"max_requests_per_batch": max_batch_size}
    if model.device.type == "cpu" and "num_blocks" in names:
        page = ContinuousBatchingConfig().page_size if "page_size" in names else 256
        options["num_blocks"] = max_batch_size * math.ceil(_CPU_TOKENS_PER_SLOT / page)
    if compile_on and "default_compile_level" in names:
        options["default_compile_level"] = 1
    return ContinuousBatchingConfig(**{k: v for k, v in options.items() if k in names})


class ContinuousServer:
    """Requests go straight into the manager's queue; its background thread schedules them.

    Each output carries per-token timestamps the manager took (time.perf_counter()) in its own
    thread as the token was appended, so TTFT and inter-token gaps are as exact as serial mode.
    """

    def __init__(self, model: PreTrainedModel, max_batch_size: int, compile_on: bool) -> None:
        from transformers import GenerationConfig

        if not hasattr(model, "init_continuous_batching"):
            raise EngineStartError(
                "this Transformers version has no continuous batching (init_continuous_batching): "
                "use --batching dynamic or upgrade transformers"
            )
        generation = GenerationConfig(do_sample=False, max_new_tokens=16, eos_token_id=-1)
        try:
            self._manager = model.init_continuous_batching(
                generation_config=generation,
                continuous_batching_config=_cb_config(model, max_batch_size, compile_on),
            )
        except (ValueError, RuntimeError, TypeError) as exc:
            raise EngineStartError(f"Transformers continuous batching failed to start: {exc}") from exc
        if not hasattr(self._manager, "register_result_handler"):
            raise EngineStartError(
                "this Transformers version cannot stream continuous-batching results to asyncio "
                "(no register_result_handler): use --batching dynamic or upgrade transformers"
            )
        accepted = inspect.signature(self._manager.add_request).parameters
        self.exact_timestamps = "record_timestamps" in accepted
        self._extra = {"record_timestamps": True} if self.exact_timestamps else {}
        if "eos_token_id" in accepted:
            self._extra["eos_token_id"] = -1  # -1 disables EOS: outputs run to max_tokens
        self._ids = itertools.count()
        self._active: dict[RequestChannel, str] = {}

    def start(self) -> None:
        """Capture CUDA graphs (where available) and start the manager's thread."""
        try:
            if hasattr(self._manager, "warmup"):
                self._manager.warmup()
            self._manager.start()
        except RuntimeError as exc:
            raise EngineStartError(f"Transformers continuous batching failed to start: {exc}") from exc

    def notes(self) -> list[str]:
        if self.exact_timestamps:
            timing = "per-token times are the manager's own timestamps, taken in its generation thread"
        else:
            timing = (
                "this Transformers version records no per-token timestamps: times are taken on the event "
                "loop when each step's output arrives (late by the loop's scheduling delay)"
            )
        return [
            f"continuous batching (Transformers paged attention): {timing}",
            "continuous batching: target_forward_passes is not reported (the manager does not expose how "
            "many batched steps each request took part in)",
        ]

    def submit(self, channel: RequestChannel) -> None:
        request_id = f"specbench-{channel.request.request_id}-{next(self._ids)}"
        request = channel.request
        seen = [0]

        def on_output(output: Any) -> None:
            # Runs on the event loop (the manager hands results over with call_soon_threadsafe).
            tokens = len(output.generated_tokens)
            stamps = output.timestamps if self.exact_timestamps else None
            now = time.perf_counter()
            for index in range(seen[0], tokens):
                channel.queue.put_nowait(TokenChunk(stamps[index] if stamps else now, 1))
            seen[0] = max(seen[0], tokens)
            if not output.is_finished():
                return
            channel.finished = True
            self._active.pop(channel, None)
            if output.error is not None:
                channel.queue.put_nowait(RuntimeError(f"continuous batching failed: {output.error}"))
                return
            channel.queue.put_nowait(
                Completion(
                    prompt_tokens=len(request.prompt_token_ids),
                    output_tokens=tokens,
                    finish_reason="length" if tokens >= request.max_tokens else "stop",
                    output_token_ids=list(output.generated_tokens) if request.keep_output else None,
                )
            )

        self._active[channel] = request_id
        self._manager.register_result_handler(request_id, on_output)
        added = self._manager.add_request(
            input_ids=list(request.prompt_token_ids),
            request_id=request_id,
            max_new_tokens=request.max_tokens,
            streaming=True,
            **self._extra,
        )
        if added is None:
            self._active.pop(channel, None)
            channel.queue.put_nowait(RuntimeError("the continuous-batching manager refused the request"))

    def cancel(self, channel: RequestChannel) -> None:
        request_id = self._active.pop(channel, None)
        if request_id is not None:
            self._manager.cancel_request(request_id)

    async def settle(self) -> None:
        pass

    async def close(self) -> None:
        """Stop the manager's thread (off the loop: it joins) and restore the attention implementation."""
        await asyncio.to_thread(self._stop)

    def _stop(self) -> None:
        self._manager.stop(block=True, timeout=30)
        if hasattr(self._manager, "destroy"):
            self._manager.destroy()
