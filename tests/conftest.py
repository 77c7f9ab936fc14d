"""Shared fixtures: the built-in tiny models and their tokenizer, built once per test session."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from specbench.tiny_model import TinyModels, ensure_tiny_models
from specbench.workload.tokenizer import PromptTokenizer, load_tokenizer

DATA_DIR = Path(__file__).parent / "data"


def pytest_sessionstart(session: pytest.Session) -> None:
    # CI sets this so a missing vLLM fails the run instead of silently skipping its real-engine tests.
    if os.environ.get("SPECBENCH_REQUIRE_VLLM") and importlib.util.find_spec("vllm") is None:
        raise pytest.UsageError("SPECBENCH_REQUIRE_VLLM is set but vLLM is not installed")


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test, and every CLI run inside one, builds the tiny models into a private cache."""
    cache = tmp_path_factory.mktemp("specbench-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("SPECBENCH_CACHE", str(cache))
    yield cache
    patch.undo()


@pytest.fixture(scope="session")
def tiny_models(private_cache: Path) -> TinyModels:
    """Target and draft built by the same code users run (~4 s), shared with CLI runs in tests."""
    return ensure_tiny_models()


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_models: TinyModels) -> PromptTokenizer:
    return load_tokenizer(tiny_models.target)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data: small sample datasets (sample.jsonl, sharegpt_sample.json)."""
    return DATA_DIR
