"""One engine life: create, start, describe and shut down, as an async context manager.

Sweeps, the SLO search and single runs all measure their points inside one of these, so an engine that
takes minutes to start is started once.
"""

from __future__ import annotations

import time
from types import TracebackType

from specbench.config import RunConfig
from specbench.engines.base import Engine, EngineInfo
from specbench.engines.registry import create_engine
from specbench.session.engine_args import engine_args


class EngineSession:
    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.engine: Engine = create_engine(engine_args(config))
        self.start_s: float | None = None  # how long start() took, once it succeeded

    @property
    def info(self) -> EngineInfo:
        """After start: the settings as the engine resolved them; before: as requested."""
        return self.engine.describe()

    async def start(self) -> None:
        began = time.perf_counter()
        try:
            await self.engine.start()
        except BaseException:
            await self.engine.shutdown()  # a half-started engine may hold processes and memory
            raise
        self.start_s = time.perf_counter() - began

    async def shutdown(self) -> None:
        await self.engine.shutdown()

    async def __aenter__(self) -> EngineSession:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.shutdown()
