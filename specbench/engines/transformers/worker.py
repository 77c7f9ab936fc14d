"""The single generation thread: one generate() call at a time, in submission order."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import replace

import torch

from specbench.engines.base import Completion
from specbench.engines.transformers.channel import RequestChannel
from specbench.engines.transformers.decoding import DecodingSetup
from specbench.engines.transformers.speculation import DraftCounts, counting_drafts
from specbench.engines.transformers.stats import JobReport
from specbench.engines.transformers.streaming import Abandoned, TimestampStreamer

JobListener = Callable[[JobReport, list[DraftCounts]], None]


def left_pad(
    prompts: Sequence[list[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoder-only batching pads on the left so every row's next token sits in the last column."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
        mask[row, width - len(prompt) :] = 1
    return ids.to(device), mask.to(device)


def _compile_events() -> int:
    """Frames dynamo has compiled so far in this process: a change means this call compiled."""
    try:
        from torch._dynamo.utils import counters
    except ImportError:  # pragma: no cover - torch without dynamo
        return 0
    return int(counters["frames"].get("total", 0))


class GenerationWorker:
    """Runs generate() jobs on one dedicated thread, never on the event loop."""

    def __init__(self, setup: DecodingSetup, listener: JobListener, loop: asyncio.AbstractEventLoop) -> None:
        self._setup = setup
        self._listener = listener
        self._loop = loop
        self._stopping = threading.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="specbench-generate")

    def submit(self, channels: list[RequestChannel]) -> Future[None]:
        """Queue a job; jobs run strictly one after another in submission order (FIFO)."""
        return self._executor.submit(self._run_job, channels)

    async def run(self, channels: list[RequestChannel]) -> None:
        await asyncio.wrap_future(self.submit(channels))

    async def drain(self) -> None:
        """Wait until every job submitted so far has finished and reported to the loop."""
        # A no-op job completes after all earlier ones (FIFO), and its result reaches the loop after
        # their reports did (call_soon_threadsafe keeps order).
        await asyncio.wrap_future(self._executor.submit(lambda: None))

    def shutdown(self) -> None:
        """Stop the running job at its next step, fail queued ones, and join the thread."""
        self._stopping.set()
        self._executor.shutdown(wait=True)

    def _run_job(self, channels: list[RequestChannel]) -> None:
        live = [c for c in channels if not c.abandoned]
        if self._stopping.is_set():
            for channel in live:
                channel.fail(RuntimeError("the Transformers engine was shut down before this request ran"))
            return
        if not live:
            return
        try:
            self._generate(live)
        except Exception as exc:
            for channel in live:
                if not channel.finished:
                    channel.fail(exc)

    def _generate(self, channels: list[RequestChannel]) -> None:
        setup = self._setup
        prompts = [c.request.prompt_token_ids for c in channels]
        input_ids, attention_mask = left_pad(prompts, setup.pad_token_id, setup.device)
        max_new = max(c.request.max_tokens for c in channels)

        def should_stop() -> bool:
            # Rows that already finished need nothing more: stop once every other row is abandoned.
            unfinished = [c for c in channels if not c.finished]
            return self._stopping.is_set() or (bool(unfinished) and all(c.abandoned for c in unfinished))

        streamer = TimestampStreamer(channels, finish_rows=not setup.kind.assisted, should_stop=should_stop)
        compiled_before = _compile_events() if setup.compile else 0
        counting = counting_drafts(setup.model) if setup.kind.assisted else nullcontext(None)
        started = time.perf_counter()
        abandoned = False
        # inference_mode rather than generate()'s own no_grad: no autograd bookkeeping on any tensor,
        # which eager decoding pays per kernel launch (7-24 % of batch-1 speed on the GPU hosts tried).
        with counting as drafts, torch.inference_mode():
            try:
                setup.model.generate(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    streamer=streamer,
                    **setup.call_kwargs(input_ids.shape[1], max_new),
                )
            except Abandoned:
                abandoned = True  # the requests end below with the tokens they got ("abort")
            finally:
                streamer.flush()
        if drafts is not None and not abandoned and drafts.target_forward_passes != streamer.steps:
            # Each verification round streams once; a mismatch means Transformers changed how it
            # drives the candidate generator, and the counts must not be reported as if exact.
            raise RuntimeError(
                f"counted {drafts.target_forward_passes} speculation rounds but generate() streamed "
                f"{streamer.steps} steps: this Transformers version is not supported for draft counting"
            )
        wall = time.perf_counter() - started
        report = JobReport(
            wall_s=wall,
            batch_size=len(channels),
            forward_passes=streamer.steps,
            compiled=setup.compile and _compile_events() != compiled_before,
        )
        # Plain decoding already sent its completions from the streamer; stats() drains this thread
        # before reading the counters, so the report is always in by then.
        self._loop.call_soon_threadsafe(self._listener, report, [drafts] if drafts is not None else [])
        for channel in channels:
            if channel.finished:
                continue
            completion = streamer.completion_for(channel)
            if drafts is not None:
                completion = _with_drafts(completion, drafts)
            channel.finish(completion)


def _with_drafts(completion: Completion, drafts: DraftCounts) -> Completion:
    return replace(
        completion,
        drafted_tokens=drafts.drafted,
        accepted_tokens=drafts.accepted,
        target_forward_passes=drafts.target_forward_passes,
        drafts=drafts.drafts,
    )
