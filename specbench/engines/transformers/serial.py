"""Serial serving: one request at a time, first come first served, like a naive generate() server."""

from __future__ import annotations

from specbench.engines.transformers.channel import RequestChannel
from specbench.engines.transformers.worker import GenerationWorker


class SerialScheduler:
    """Each request is its own generate() job; the worker's FIFO queue is the server's queue, so
    time spent waiting behind earlier requests shows up in TTFT."""

    def __init__(self, worker: GenerationWorker) -> None:
        self._worker = worker

    def submit(self, channel: RequestChannel) -> None:
        self._worker.submit([channel])

    def cancel(self, channel: RequestChannel) -> None:
        """Nothing to do: the worker skips or stops jobs whose requests are all abandoned."""

    async def settle(self) -> None:
        await self._worker.drain()

    async def close(self) -> None:
        pass
