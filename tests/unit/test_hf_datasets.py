"""Hugging Face datasets through the `datasets` library: local files, hub names, and the hub out of reach."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from specbench.errors import ConfigError
from specbench.workload.hf_datasets import HubName, parse_hub_name
from specbench.workload.prompts import open_prompt_source, resolve_format
from specbench.workload.questions import FieldNames

datasets = pytest.importorskip("datasets")

ROWS = [
    {"question": "What is 2 + 2?", "task": "math"},
    {"question": "Translate German to English: Hallo", "task": "translation"},
    {"question": "Write a haiku about rain.", "task": "writing"},
]


@pytest.mark.parametrize(
    ("dataset", "expected"),
    [
        ("hf:org/set", HubName("org/set")),
        ("hf:org/set:main", HubName("org/set", "main")),
        ("hf:org/set:main:test", HubName("org/set", "main", "test")),
        ("hf:org/set::test", HubName("org/set", None, "test")),
    ],
)
def test_hub_names_split_into_name_config_and_split(dataset, expected):
    assert parse_hub_name(dataset) == expected


@pytest.mark.parametrize("dataset", ["hf:", "hf:a:b:c:d"])
def test_a_malformed_hub_name_is_one_clear_error(dataset):
    with pytest.raises(ConfigError, match="write hf:NAME"):
        parse_hub_name(dataset)


@pytest.mark.parametrize(
    ("dataset", "expected"),
    [("q.parquet", "hf"), ("q.arrow", "hf"), ("hf:org/set", "hf"), ("q.jsonl", "jsonl")],
)
def test_parquet_arrow_and_hub_names_are_read_with_datasets(dataset, expected):
    assert resolve_format(dataset, "auto") == expected


def test_a_local_parquet_file_gives_every_row_as_a_question_with_its_category(tmp_path: Path):
    path = tmp_path / "questions.parquet"
    datasets.Dataset.from_list(ROWS).to_parquet(str(path))
    source = open_prompt_source(str(path), fields=FieldNames(prompt="question", category="task"))
    assert source.format == "hf"
    assert [(e.text, e.category, e.is_question) for e in source.entries] == [
        (row["question"], row["task"], True) for row in ROWS
    ]


def test_a_local_json_lines_file_reads_through_datasets_when_asked(tmp_path: Path):
    path = tmp_path / "q.jsonl"
    datasets.Dataset.from_list(ROWS).to_json(str(path))
    source = open_prompt_source(str(path), "hf", FieldNames(prompt="question", category="task"))
    assert [e.category for e in source.entries] == ["math", "translation", "writing"]


def test_a_row_without_the_named_field_names_the_row(tmp_path: Path):
    path = tmp_path / "q.parquet"
    datasets.Dataset.from_list(ROWS).to_parquet(str(path))
    with pytest.raises(ConfigError, match=r"row 1: no field \"prompt_text\" \(--prompt-field\)"):
        open_prompt_source(str(path), fields=FieldNames(prompt="prompt_text"))


def test_a_hub_name_without_the_hub_fails_in_one_line_without_retrying(tmp_path: Path):
    """The hub is out of reach here (an endpoint nothing listens on): one line, exit 2, and no minute of
    retries. A fresh process, as a user's, so `datasets` is first imported by specbench."""
    command = [
        sys.executable,
        "-m",
        "specbench",
        "run",
        "--engine",
        "echo",
        "--dataset",
        "hf:org/not-here",
        "--num-prompts",
        "1",
        "--output-dir",
        str(tmp_path),
    ]
    env = {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=120, env={**_python_env(), **env}, check=False
    )
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot load hf:org/not-here" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def _python_env() -> dict[str, str]:
    keep = ("PYTHONPATH", "HOME", "SPECBENCH_CACHE", "PYENV_VERSION")
    return {name: os.environ[name] for name in keep if name in os.environ}
