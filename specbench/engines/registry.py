"""Engines by name. Each factory imports its engine lazily: vLLM and torch are optional installs and
take seconds to import, so a run pays only for the engine it uses."""

from __future__ import annotations

from collections.abc import Callable

from specbench.config import EngineName, RunConfig
from specbench.engines.base import Engine
from specbench.errors import EngineStartError


def _transformers(config: RunConfig) -> Engine:
    try:
        from specbench.engines.transformers.engine import TransformersEngine
    except ImportError as exc:
        raise EngineStartError(
            f"the Transformers engine needs torch and transformers ({exc.name or exc} is missing): "
            'pip install "specbench[transformers]"'
        ) from None
    return TransformersEngine(config)


def _vllm(config: RunConfig) -> Engine:
    from specbench.engines.vllm import VllmEngine

    return VllmEngine(config)


def _echo(config: RunConfig) -> Engine:
    from specbench.engines.echo import EchoEngine

    return EchoEngine(config)


ENGINES: dict[EngineName, Callable[[RunConfig], Engine]] = {
    EngineName.transformers: _transformers,
    EngineName.vllm: _vllm,
    EngineName.echo: _echo,
}


def create_engine(config: RunConfig) -> Engine:
    return ENGINES[config.engine](config)
