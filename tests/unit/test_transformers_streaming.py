"""The timestamping streamer: what it sends for each generate() step, per request."""

from __future__ import annotations

import asyncio

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from specbench.engines.base import Completion, EngineRequest, TokenChunk  # noqa: E402
from specbench.engines.transformers.channel import RequestChannel  # noqa: E402
from specbench.engines.transformers.streaming import Abandoned, TimestampStreamer  # noqa: E402


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def drain(channel: RequestChannel) -> list[object]:
    items = []
    while not channel.queue.empty():
        items.append(channel.queue.get_nowait())
    return items


async def feed(streamer: TimestampStreamer, *steps: torch.Tensor) -> None:
    for step in steps:
        streamer.put(step)
    await asyncio.sleep(0)  # let the loop run the thread-safe deliveries


def test_prompt_is_skipped_and_each_step_is_stamped_when_put() -> None:
    async def main() -> list[object]:
        channel = RequestChannel(EngineRequest(1, [1, 2, 3], 2), asyncio.get_running_loop())
        streamer = TimestampStreamer([channel], finish_rows=True, clock=Clock())
        await feed(streamer, torch.tensor([[1, 2, 3]]), torch.tensor([7]), torch.tensor([8]))
        assert streamer.steps == 2
        return drain(channel)

    first, second, completion = asyncio.run(main())
    # The clock ticked once for the prompt put (101), then at each step.
    assert first == TokenChunk(102.0, 1)
    assert second == TokenChunk(103.0, 1)
    assert completion == Completion(
        prompt_tokens=3,
        output_tokens=2,
        target_forward_passes=2,
        finish_reason="length",
        output_token_ids=[7, 8],
    )


def test_each_row_stops_counting_and_finishes_at_its_own_max_tokens() -> None:
    async def main() -> tuple[list[object], list[object]]:
        loop = asyncio.get_running_loop()
        short = RequestChannel(EngineRequest(1, [1], 1), loop)
        long = RequestChannel(EngineRequest(2, [1, 2], 3), loop)
        streamer = TimestampStreamer([short, long], finish_rows=True, clock=Clock())
        steps = [torch.tensor([[0, 1], [1, 2]])] + [torch.tensor([5, 6])] * 3
        await feed(streamer, *steps)
        return drain(short), drain(long)

    short_items, long_items = asyncio.run(main())
    assert short_items == [
        TokenChunk(102.0, 1),
        Completion(
            prompt_tokens=1,
            output_tokens=1,
            target_forward_passes=1,
            finish_reason="length",
            output_token_ids=[5],
        ),
    ]
    assert [i.num_tokens for i in long_items if isinstance(i, TokenChunk)] == [1, 1, 1]
    # Each row keeps its own column's tokens.
    assert long_items[-1] == Completion(
        prompt_tokens=2,
        output_tokens=3,
        target_forward_passes=3,
        finish_reason="length",
        output_token_ids=[6, 6, 6],
    )


def test_assisted_steps_deliver_several_tokens_capped_at_max_tokens() -> None:
    async def main() -> list[object]:
        channel = RequestChannel(EngineRequest(1, [1, 2], 6), asyncio.get_running_loop())
        # Assisted generation: the caller sends the Completion once the draft counts are known.
        streamer = TimestampStreamer([channel], finish_rows=False, clock=Clock())
        await feed(streamer, torch.tensor([[1, 2]]), torch.tensor([[3, 4, 5, 6]]), torch.tensor([[7, 8, 9]]))
        assert channel.output_ids == [3, 4, 5, 6, 7, 8]  # the ids of the tokens counted, no more
        return drain(channel)

    items = asyncio.run(main())
    assert [type(i) for i in items] == [TokenChunk, TokenChunk]
    assert [i.num_tokens for i in items] == [4, 2]


def test_chunks_wait_for_the_delivery_interval_but_keep_their_own_times() -> None:
    async def main() -> tuple[int, list[object]]:
        channel = RequestChannel(EngineRequest(1, [1], 3), asyncio.get_running_loop())
        streamer = TimestampStreamer([channel], finish_rows=True, clock=Clock(), interval_s=10.0)
        await feed(streamer, torch.tensor([[1]]), torch.tensor([2]), torch.tensor([3]))
        held = channel.queue.qsize()
        await feed(streamer, torch.tensor([4]))  # the last token: its Completion goes out at once
        return held, drain(channel)

    held, items = asyncio.run(main())
    # The first step flushes (nothing delivered yet); the second waits for the interval.
    assert held == 1
    assert [i.time for i in items if isinstance(i, TokenChunk)] == [102.0, 103.0, 104.0]
    assert isinstance(items[-1], Completion)


def test_put_raises_abandoned_once_asked_to_stop() -> None:
    async def main() -> list[object]:
        channel = RequestChannel(EngineRequest(1, [1], 5), asyncio.get_running_loop())
        stop = [False]
        streamer = TimestampStreamer([channel], finish_rows=True, should_stop=lambda: stop[0])
        await feed(streamer, torch.tensor([[1]]), torch.tensor([2]))
        stop[0] = True
        with pytest.raises(Abandoned):
            streamer.put(torch.tensor([3]))
        streamer.flush()
        await asyncio.sleep(0)
        assert streamer.completion_for(channel).finish_reason == "abort"
        return drain(channel)

    items = asyncio.run(main())
    # The step that saw the stop still counts: its tokens exist.
    assert [i.num_tokens for i in items] == [1, 1]
