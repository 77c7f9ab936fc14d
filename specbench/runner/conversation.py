"""Conversations: a session's later turns, each sent its think time after the previous answer, with the
history (earlier prompts and the answers the engine really gave) before it. The dispatcher sends a session's
first turn on the schedule; this carries the rest."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from specbench.engines.base import Completion, EngineRequest, Message
from specbench.records import RequestRecord
from specbench.runner.alarm import Alarm
from specbench.runner.progress import RunProgress
from specbench.workload.types import PlannedRequest, PlannedTurn


class TurnSender(Protocol):
    """What a conversation needs of the batch it runs in: its clock, stop, counters, and one request sent."""

    start: float
    stop: asyncio.Event
    clock: Callable[[], float]
    progress: RunProgress
    in_flight: dict[asyncio.Task[None], RequestRecord]
    alarm: Alarm
    waiting: bool

    async def serve(
        self, request: EngineRequest, record: RequestRecord, queued_s: float
    ) -> Completion | None:
        """Send one request; its record is finished (success or error) before this returns."""


class Conversations:
    """The sessions of one batch: their later turns, the think times they wait out, the turns left unsent."""

    def __init__(self, sender: TurnSender) -> None:
        self.sender = sender
        self.turns_not_sent = 0  # later turns left unsent (a stop, or an earlier turn failed)
        self.thinking: set[asyncio.Future[None]] = set()  # sessions waiting out a think time

    def wake_all(self) -> None:
        """End every think time now (a stop): those sessions send nothing more."""
        for waiter in list(self.thinking):
            resolve(waiter)

    async def converse(
        self, planned: PlannedRequest, request: EngineRequest, record: RequestRecord, queued_s: float
    ) -> None:
        """A session: each turn sent its think time after the previous answer, with the history before it.

        The history is what was asked and what the engine really answered, as token ids (one flat prompt)
        and as messages (engines that take chat). A failed turn ends its session; so does a stop.
        """
        try:
            await self._turns(planned, request, record, queued_s)
        finally:
            task = asyncio.current_task()
            if task is not None and self.sender.in_flight.pop(task, None) is not None and self.sender.waiting:
                self.sender.alarm.wake()

    async def _turns(
        self, planned: PlannedRequest, request: EngineRequest, record: RequestRecord, queued_s: float
    ) -> None:
        completion = await self.sender.serve(request, record, queued_s)
        history: list[Message] = [Message("user", planned.prompt_token_ids, planned.prompt_text)]
        flat = list(planned.prompt_token_ids)
        for number, turn in enumerate(planned.later_turns, start=2):
            answer = answer_of(completion, record)
            if answer is None or self.sender.stop.is_set():
                self.turns_not_sent += len(planned.later_turns) - number + 2
                return
            history.append(answer)
            history.append(Message("user", turn.prompt_token_ids, turn.prompt_text))
            # A new list each turn (the previous request keeps its own): one copy of the history per turn.
            flat = flat + answer.token_ids + turn.prompt_token_ids
            assert record.end_s is not None  # answer_of() returns None for a turn that did not end
            scheduled_s = record.end_s + turn.think_s
            delay = self.sender.start + scheduled_s - self.sender.clock()
            if delay > 0:
                await self._think(delay)
            if self.sender.stop.is_set():
                self.turns_not_sent += len(planned.later_turns) - number + 2
                return
            ready_s = self.sender.clock() - self.sender.start
            record = self._next_turn(turn, planned.request_id, number, scheduled_s, ready_s, len(flat))
            request = EngineRequest(
                request_id=turn.request_id,
                prompt_token_ids=flat,
                max_tokens=turn.max_tokens,
                messages=tuple(history),
                keep_output=number < len(planned.later_turns) + 1,
            )
            completion = await self.sender.serve(request, record, 0.0)

    async def _think(self, delay_s: float) -> None:
        """Wait out a think time; a stop ends every wait at once (drain)."""
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        timer = loop.call_later(delay_s, resolve, waiter)
        self.thinking.add(waiter)
        try:
            await waiter
        finally:
            self.thinking.discard(waiter)
            timer.cancel()

    def _next_turn(
        self, turn: PlannedTurn, session: int, number: int, scheduled_s: float, ready_s: float, prompt: int
    ) -> RequestRecord:
        record = RequestRecord(
            request_id=turn.request_id,
            scheduled_s=scheduled_s,
            ready_s=ready_s,
            sent_s=ready_s,
            prompt_tokens=prompt,
            expected_output_tokens=turn.max_tokens,
            session_id=session,
            turn=number,
        )
        task = asyncio.current_task()
        if task is not None:
            self.sender.in_flight[task] = record
        self.sender.progress.sent += 1
        return record


def answer_of(completion: Completion | None, record: RequestRecord) -> Message | None:
    """The answer a conversation's next turn carries in its history; None when the turn failed."""
    if completion is None or record.error is not None or record.end_s is None:
        return None
    return Message("assistant", completion.output_token_ids or [], completion.output_text)


def resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
