"""Engines by name, and what each needs from a run. Each factory imports its engine lazily: vLLM and torch
are optional installs and take seconds to import, so a run pays only for the engine it uses.

Adding an engine: its name in config.EngineName with its settings section in RunConfig, its arguments class
in args.py, its package (or module) with a class that meets base.Engine, and one entry in ENGINES below.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from specbench.config import EngineName
from specbench.engines.args import EchoArgs, EngineArgs, OpenAIArgs, TransformersArgs, VllmArgs
from specbench.engines.base import Engine
from specbench.engines.context import ContextLimit, transformers_context_limit, vllm_context_limit
from specbench.errors import ConfigError, EngineStartError


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """One engine: how to make it from its arguments, and what it needs from a run."""

    name: EngineName
    create: Callable[[Any], Engine]  # takes its `args` class
    # Runs a model from a local directory (else the model lives elsewhere, or there is none).
    runs_local_model: bool
    # Its own settings section of RunConfig, named after it.
    section: str
    # The longest sequence it takes, where that is known before it starts.
    context_limit: Callable[[Any], ContextLimit | None] = lambda _: None
    # False for the echo engine: its figures are the harness's own, so harness lateness is the measurement.
    measures_inference: bool = True
    # Its prompts must be token ids of the served model's own vocabulary, so a tokenizer is required even
    # where no model runs here (random ids from a vocabulary size will not do).
    needs_tokenizer: bool = False
    # What it is given of a run: the session layer builds one from the plan (session/engine_args.py).
    args: type[EngineArgs] = EngineArgs
    # Raises the one-line ConfigError where it cannot set the acceptance of speculative decoding
    # (--synthetic-acceptance); checked for every session of a plan before any engine starts.
    check_synthetic_acceptance: Callable[[Any], None] = lambda _: None

    def ignored_settings(self, chosen: Collection[str]) -> list[str]:
        """Settings the user chose that this engine does not read: those some engine reads, but not among
        its own arguments. Say so rather than pretend."""
        reads = self.args.settings() | {self.section}
        return sorted(
            key for key in chosen if key.split(".")[0] in ENGINE_SETTINGS and key.split(".")[0] not in reads
        )


def _transformers(args: TransformersArgs) -> Engine:
    try:
        from specbench.engines.transformers.engine import TransformersEngine
    except ImportError as exc:
        raise EngineStartError(
            f"the Transformers engine needs torch and transformers ({exc.name or exc} is missing): "
            'pip install "specbench[transformers]"'
        ) from None
    return TransformersEngine(args)


def _vllm(args: VllmArgs) -> Engine:
    from specbench.engines.vllm import VllmEngine

    return VllmEngine(args)


def _echo(args: EchoArgs) -> Engine:
    from specbench.engines.echo import EchoEngine

    return EchoEngine(args)


def _openai(args: OpenAIArgs) -> Engine:
    try:
        from specbench.engines.openai import OpenAIEngine
    except ImportError as exc:
        raise EngineStartError(
            f"the openai engine needs httptools and orjson ({exc.name or exc} is missing): "
            'pip install "specbench[http]"'
        ) from None
    return OpenAIEngine(args)


def _refuse_synthetic(message: str) -> Callable[[Any], None]:
    def refuse(_: Any) -> None:
        raise ConfigError(message)

    return refuse


def _vllm_synthetic(args: VllmArgs) -> None:
    from specbench.engines.vllm.args import check_synthetic_platform, detect_platform

    try:
        platform = detect_platform()
    except ImportError:
        return  # vLLM is missing: starting it says so, in its own words
    check_synthetic_platform(args, platform)


SYNTHETIC_SERVED = (
    "--synthetic-acceptance cannot reach a served model: start vllm serve with --speculative-config "
    '\'{"method": "draft_model", "model": DRAFT, "num_speculative_tokens": 3, "rejection_sample_method": '
    '"synthetic", "synthetic_acceptance_length": 2.5}\' and drop the flag here (docs/VLLM_INTEGRATION.md)'
)
SYNTHETIC_TRANSFORMERS = (
    "--synthetic-acceptance is for vLLM (on a GPU) and the echo engine: Transformers verifies every draft "
    "itself; drop the flag, or use --engine vllm"
)

ENGINES: dict[EngineName, EngineSpec] = {
    EngineName.transformers: EngineSpec(
        EngineName.transformers,
        _transformers,
        True,
        "transformers",
        transformers_context_limit,
        args=TransformersArgs,
        check_synthetic_acceptance=_refuse_synthetic(SYNTHETIC_TRANSFORMERS),
    ),
    EngineName.vllm: EngineSpec(
        EngineName.vllm,
        _vllm,
        True,
        "vllm",
        vllm_context_limit,
        args=VllmArgs,
        check_synthetic_acceptance=_vllm_synthetic,
    ),
    EngineName.echo: EngineSpec(
        EngineName.echo, _echo, False, "echo", measures_inference=False, args=EchoArgs
    ),
    EngineName.openai: EngineSpec(
        EngineName.openai,
        _openai,
        False,
        "openai",
        needs_tokenizer=True,
        args=OpenAIArgs,
        check_synthetic_acceptance=_refuse_synthetic(SYNTHETIC_SERVED),
    ),
}
# Every setting some engine reads: a chosen setting outside these (the workload, the output) is no engine's.
ENGINE_SETTINGS: frozenset[str] = frozenset().union(
    *(spec.args.settings() | {spec.section} for spec in ENGINES.values())
)


def engine_spec(name: EngineName) -> EngineSpec:
    return ENGINES[name]


def create_engine(args: EngineArgs) -> Engine:
    """The engine the arguments are for (a test may pass a RunConfig: it has every field they have)."""
    return ENGINES[args.engine].create(args)
