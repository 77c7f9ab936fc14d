"""Which engines can set the acceptance of speculative decoding (--synthetic-acceptance), checked for every
session of a plan before any engine starts, so a head-to-head never fails on its last session."""

from __future__ import annotations

from specbench.config import EngineName, RunConfig
from specbench.engines.vllm.args import check_synthetic_platform, detect_platform
from specbench.errors import ConfigError
from specbench.session.engine_args import engine_args

SERVED = (
    "--synthetic-acceptance cannot reach a served model: start vllm serve with --speculative-config "
    '\'{"method": "draft_model", "model": DRAFT, "num_speculative_tokens": 3, "rejection_sample_method": '
    '"synthetic", "synthetic_acceptance_length": 2.5}\' and drop the flag here (docs/VLLM_INTEGRATION.md)'
)
TRANSFORMERS = (
    "--synthetic-acceptance is for vLLM (on a GPU) and the echo engine: Transformers verifies every draft "
    "itself; drop the flag, or use --engine vllm"
)


def check_synthetic_acceptance(config: RunConfig) -> None:
    """One line, exit 2, where the engine (or vLLM's build) cannot do synthetic acceptance."""
    if not (config.is_speculative and config.speculative.synthetic):
        return
    if config.engine is EngineName.transformers:
        raise ConfigError(TRANSFORMERS)
    if config.engine is EngineName.openai:
        raise ConfigError(SERVED)
    if config.engine is EngineName.vllm:
        try:
            platform = detect_platform()
        except ImportError:
            return  # vLLM is missing: starting it says so, in its own words
        check_synthetic_platform(engine_args(config), platform)
