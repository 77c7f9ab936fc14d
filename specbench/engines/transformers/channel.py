"""The one-way channel from the generation thread to a request's generate() coroutine."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from specbench.engines.base import Completion, EngineRequest, TokenChunk

Item = TokenChunk | Completion | BaseException


@dataclass(slots=True, eq=False)
class RequestChannel:
    """Carries one request's events across threads.

    Only the generation thread pushes (via call_soon_threadsafe, so the asyncio queue is touched on
    its own loop); only the request's coroutine reads. `emitted` and `finished` belong to the
    generation thread, `abandoned` to the event loop (a plain bool: a stale read costs one step).
    """

    request: EngineRequest
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Item] = field(default_factory=asyncio.Queue)
    emitted: int = 0
    output_ids: list[int] = field(default_factory=list)  # the tokens emitted, in order
    finished: bool = False
    abandoned: bool = False
    output_ids: list[int] = field(default_factory=list)  # kept only when the request asks (keep_output)

    def finish(self, completion: Completion) -> None:
        self.finished = True
        self.loop.call_soon_threadsafe(self.queue.put_nowait, completion)

    def fail(self, error: BaseException) -> None:
        self.finished = True
        self.loop.call_soon_threadsafe(self.queue.put_nowait, error)


def deliver(loop: asyncio.AbstractEventLoop, batch: list[tuple[RequestChannel, Item]]) -> None:
    """Hand one generation step's events for several requests to the loop in a single wake-up."""
    loop.call_soon_threadsafe(_deliver_now, batch)


def _deliver_now(batch: list[tuple[RequestChannel, Item]]) -> None:
    for channel, item in batch:
        channel.queue.put_nowait(item)
