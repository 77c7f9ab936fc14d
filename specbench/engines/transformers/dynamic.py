"""Dynamic batching: gather the requests that are waiting into one left-padded generate()."""

from __future__ import annotations

import asyncio
import contextlib

from specbench.engines.transformers.channel import RequestChannel
from specbench.engines.transformers.worker import GenerationWorker


class DynamicBatcher:
    """While a batch runs, new requests queue; the next batch takes up to `max_batch_size` of them,
    waiting at most `max_wait_s` for more once the first is there. A batch runs to its longest
    request; each request still streams and completes at its own max_tokens."""

    def __init__(self, worker: GenerationWorker, max_batch_size: int, max_wait_s: float) -> None:
        self._worker = worker
        self._max_batch_size = max_batch_size
        self._max_wait_s = max_wait_s
        self._waiting: asyncio.Queue[RequestChannel] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, channel: RequestChannel) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._serve())
        self._idle.clear()
        self._waiting.put_nowait(channel)

    def cancel(self, channel: RequestChannel) -> None:
        """Nothing to do: the worker skips or stops jobs whose requests are all abandoned."""

    async def settle(self) -> None:
        await self._idle.wait()
        await self._worker.drain()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _serve(self) -> None:
        while True:
            batch = await self._gather()
            live = [c for c in batch if not c.abandoned]
            if live:
                await self._worker.run(live)
            if self._waiting.empty():
                self._idle.set()

    async def _gather(self) -> list[RequestChannel]:
        batch = [await self._waiting.get()]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_wait_s
        while len(batch) < self._max_batch_size:
            if not self._waiting.empty():
                batch.append(self._waiting.get_nowait())
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            getter = asyncio.ensure_future(self._waiting.get())
            await asyncio.wait({getter}, timeout=remaining)
            if not getter.done():
                getter.cancel()  # leaves any item in the queue for the next batch
                break
            batch.append(getter.result())
        return batch
