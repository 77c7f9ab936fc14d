"""The context check, before an engine starts and after: one function, one line naming the limit."""

from __future__ import annotations

import pytest

from specbench.config import RunConfig
from specbench.errors import ConfigError
from specbench.session.models import check_context
from specbench.workload.builder import build_workload
from specbench.workload.tokenizer import SyntheticTokenizer


def workload(config: RunConfig):
    return build_workload(config, SyntheticTokenizer())


def test_a_served_models_published_limit_refuses_longer_requests() -> None:
    config = RunConfig.model_validate(
        {"engine": "openai", "workload": {"num_prompts": 2, "input_len": 90, "output_len": 20}}
    )
    check_context(config, workload(config))  # nothing is known before the server answers
    with pytest.raises(
        ConfigError,
        match=r"needs 90 input \+ 20 output = 110 tokens .* the served model's max_model_len is 100",
    ):
        check_context(config, workload(config), served=100)
    check_context(config, workload(config), served=110)


def test_the_tighter_of_the_configured_and_the_published_limit_is_named() -> None:
    config = RunConfig.model_validate(
        {
            "engine": "vllm",
            "vllm": {"max_model_len": 64},
            "workload": {"num_prompts": 1, "input_len": 50, "output_len": 20},
        }
    )
    with pytest.raises(ConfigError, match="vLLM's --max-model-len is 64"):
        check_context(config, workload(config), served=4096)
