"""Shared fixtures: the built-in tiny models and their tokenizer, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from specbench.tiny_model import TinyModels, ensure_tiny_models
from specbench.workload.tokenizer import PromptTokenizer, load_tokenizer

DATA_DIR = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    """Target and draft built by the same code users run, into a private cache (~4 s)."""
    return ensure_tiny_models(tmp_path_factory.mktemp("specbench-cache"))


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_models: TinyModels) -> PromptTokenizer:
    return load_tokenizer(tiny_models.target)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data: small sample datasets (sample.jsonl, sharegpt_sample.json)."""
    return DATA_DIR
