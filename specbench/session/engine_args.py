"""An engine's arguments, built from a session's config: the fields its arguments class declares, each read
from the setting of the same name (the shared ones, and its own section)."""

from __future__ import annotations

from dataclasses import fields

from specbench.config import RunConfig
from specbench.engines.args import EngineArgs
from specbench.engines.registry import engine_spec


def engine_args(config: RunConfig) -> EngineArgs:
    """What the session's engine is given of its config, and nothing else."""
    kind = engine_spec(config.engine).args
    return kind(**{field.name: getattr(config, field.name) for field in fields(kind)})
