"""What the openai engine says it needs and ignores: a tokenizer, no model, none of the server's settings."""

from __future__ import annotations

import pytest

from specbench.config import EngineName, RunConfig
from specbench.engines.registry import engine_spec
from specbench.errors import ConfigError
from specbench.session.models import resolve_models, workload_tokenizer


def test_settings_that_belong_to_the_server_are_reported_as_ignored() -> None:
    chosen = [
        "dtype",
        "dummy_weights",
        "draft_model",
        "speculative.num_speculative_tokens",
        "vllm.max_num_seqs",
        "transformers.batching",
        "openai.chat",
        "workload.rate",
        "tokenizer",
        "method",
    ]
    assert engine_spec(EngineName.openai).ignored_settings(chosen) == [
        "draft_model",
        "dtype",
        "dummy_weights",
        "speculative.num_speculative_tokens",
        "transformers.batching",
        "vllm.max_num_seqs",
    ]


def test_no_local_model_is_substituted_for_a_served_one() -> None:
    config, notes = resolve_models(RunConfig(engine=EngineName.openai))
    assert config.model is None and config.draft_model is None and notes == []


def test_without_a_tokenizer_the_workload_cannot_be_made_for_a_served_model() -> None:
    with pytest.raises(
        ConfigError, match=r"needs that model's tokenizer: pass --tokenizer DIR .* or --model DIR"
    ):
        workload_tokenizer(RunConfig(engine=EngineName.openai))


def test_speculative_against_a_server_needs_no_draft_model_here(tmp_path) -> None:
    config = RunConfig(engine=EngineName.openai, method="speculative", model=tmp_path)
    assert config.draft_model is None
