"""Engines by name, and what each needs from a run. Each factory imports its engine lazily: vLLM and torch
are optional installs and take seconds to import, so a run pays only for the engine it uses."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from specbench.config import ENGINE_SECTIONS, EngineName, RunConfig
from specbench.engines.base import Engine
from specbench.engines.context import ContextLimit, transformers_context_limit, vllm_context_limit
from specbench.errors import EngineStartError


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """One engine: how to make it and which of the run's settings it reads."""

    name: EngineName
    create: Callable[[RunConfig], Engine]
    # Runs a model from a local directory (else the model lives elsewhere, or there is none).
    runs_local_model: bool
    # Its own settings section of RunConfig; the other engines' sections do not apply to it.
    section: str
    # The longest sequence it takes, where that is known before it starts.
    context_limit: Callable[[RunConfig], ContextLimit | None] = lambda _: None
    # False for the echo engine: its figures are the harness's own, so harness lateness is the measurement.
    measures_inference: bool = True
    # Its prompts must be token ids of the served model's own vocabulary, so a tokenizer is required even
    # where no model runs here (random ids from a vocabulary size will not do).
    needs_tokenizer: bool = False
    # Shared settings (or whole sections) it does not read either, e.g. the dtype of a model served elsewhere.
    unread: tuple[str, ...] = ()

    def ignored_settings(self, chosen: Collection[str]) -> list[str]:
        """Settings the user chose that this engine does not read: say so rather than pretend."""
        others = {section for section in ENGINE_SECTIONS if section != self.section}
        return sorted(
            key
            for key in chosen
            if key.split(".")[0] in others or any(key == u or key.startswith(u + ".") for u in self.unread)
        )


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


def _openai(config: RunConfig) -> Engine:
    try:
        from specbench.engines.openai import OpenAIEngine
    except ImportError as exc:
        raise EngineStartError(
            f"the openai engine needs httptools and orjson ({exc.name or exc} is missing): "
            'pip install "specbench[http]"'
        ) from None
    return OpenAIEngine(config)


ENGINES: dict[EngineName, EngineSpec] = {
    EngineName.transformers: EngineSpec(
        EngineName.transformers, _transformers, True, "transformers", transformers_context_limit
    ),
    EngineName.vllm: EngineSpec(EngineName.vllm, _vllm, True, "vllm", vllm_context_limit),
    EngineName.echo: EngineSpec(EngineName.echo, _echo, False, "echo", measures_inference=False),
    EngineName.openai: EngineSpec(
        EngineName.openai,
        _openai,
        False,
        "openai",
        needs_tokenizer=True,
        unread=("dtype", "device", "dummy_weights", "draft_model", "speculative"),
    ),
}


def engine_spec(name: EngineName) -> EngineSpec:
    return ENGINES[name]


def create_engine(config: RunConfig) -> Engine:
    return ENGINES[config.engine].create(config)
