"""A workload longer than the model's context is refused before anything loads, naming the limit."""

from __future__ import annotations

import json
from pathlib import Path

from specbench.config import RunConfig
from specbench.engines.context import check_fits, transformers_context_limit, vllm_context_limit


def model_dir(tmp_path: Path, name: str, config: dict) -> Path:
    path = tmp_path / name
    path.mkdir()
    (path / "config.json").write_text(json.dumps(config))
    return path


def test_the_shorter_of_target_and_draft_limits_a_speculative_run(tmp_path: Path):
    target = model_dir(tmp_path, "t", {"max_position_embeddings": 4096})
    draft = model_dir(tmp_path, "d", {"text_config": {"max_position_embeddings": 1024}})
    config = RunConfig(model=target, draft_model=draft, method="speculative")
    limit = transformers_context_limit(config)
    assert limit is not None and limit.tokens == 1024 and "--draft-model" in limit.source


def test_vllm_max_model_len_is_the_limit_when_set(tmp_path: Path):
    target = model_dir(tmp_path, "t", {"max_position_embeddings": 4096})
    limit = vllm_context_limit(RunConfig(engine="vllm", model=target, vllm={"max_model_len": 512}))
    assert limit is not None and (limit.tokens, limit.source) == (512, "vLLM's --max-model-len")


def test_a_request_that_fits_exactly_is_accepted_and_one_token_more_is_not(tmp_path: Path):
    limit = transformers_context_limit(
        RunConfig(model=model_dir(tmp_path, "t", {"max_position_embeddings": 100}))
    )
    assert check_fits(limit, longest_input=90, longest_output=10) is None
    problem = check_fits(limit, longest_input=90, longest_output=11)
    assert (
        problem is not None and "needs 90 input + 11 output = 101 tokens" in problem and "is 100" in problem
    )


def test_an_unknown_limit_refuses_nothing(tmp_path: Path):
    assert transformers_context_limit(RunConfig(model=model_dir(tmp_path, "t", {}))) is None
    assert check_fits(None, longest_input=10**6, longest_output=1) is None
