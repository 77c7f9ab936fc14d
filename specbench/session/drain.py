"""Between the points of one engine session: let the engine empty; tell a broken engine from a broken point.

A point ends when every request it sent has a record, but an engine may still be busy with requests the
client cancelled (an SLO probe stopped early, Ctrl-C). The next point waits until the engine is idle and then
a short settle time, so one point's tail never loads the next. An engine that can empty its prefix cache
(vLLM) does so then: no prompt of an earlier point is served from it (docs/SWEEPS.md, "Between points").
"""

from __future__ import annotations

import asyncio
import contextlib

from specbench.engines.base import Engine, EngineRequest, ForgetsPrompts

# A healthy engine empties within seconds of its last request; one that does not is stuck.
IDLE_TIMEOUT_S = 120.0
# A one-token request takes milliseconds on a healthy engine, seconds at worst on a slow CPU.
HEALTH_TIMEOUT_S = 60.0
_HEALTH_REQUEST_ID = -1_000_000


class EngineBroken(Exception):
    """The engine can no longer serve: every point after this one would fail the same way."""


async def drain(engine: Engine, *, settle_s: float, stop: asyncio.Event) -> bool | None:
    """Wait until the engine has nothing in flight, then `settle_s` more (cut short by `stop`), then empty its
    prefix cache where it can: True when it did, False when it refused, None when it has none to empty.

    Raises EngineBroken when the engine reports that it died, or does not empty within IDLE_TIMEOUT_S.
    """
    try:
        async with asyncio.timeout(IDLE_TIMEOUT_S):
            await engine.wait_idle()
    except TimeoutError:
        raise EngineBroken(
            f"the engine still had work in flight {IDLE_TIMEOUT_S:g} s after the point ended"
        ) from None
    except Exception as exc:
        raise EngineBroken(describe_error(exc)) from None
    if settle_s > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settle_s)
    if not isinstance(engine, ForgetsPrompts):
        return None
    try:
        return await engine.forget_prompts()
    except Exception as exc:
        raise EngineBroken(describe_error(exc)) from None


async def check_health(engine: Engine, prompt_token_ids: list[int]) -> str | None:
    """None when the engine still answers a one-token request; otherwise why it does not."""
    request = EngineRequest(request_id=_HEALTH_REQUEST_ID, prompt_token_ids=prompt_token_ids, max_tokens=1)
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_S):
            await engine.wait_idle()
            async for _ in engine.generate(request):
                pass
    except TimeoutError:
        return f"it did not answer a one-token request within {HEALTH_TIMEOUT_S:g} s"
    except Exception as exc:
        return describe_error(exc)
    return None


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
