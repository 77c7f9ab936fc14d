"""Each engine is given its own arguments, built from the plan: what it reads, and so what it ignores."""

from __future__ import annotations

import ast
from pathlib import Path

from specbench.config import EngineName, RunConfig
from specbench.engines.args import EchoArgs, OpenAIArgs, VllmArgs
from specbench.engines.registry import ENGINES, engine_spec
from specbench.session.engine_args import engine_args

ENGINES_DIR = Path(__file__).parents[3] / "specbench" / "engines"


def test_an_engines_arguments_hold_its_own_section_and_the_shared_settings() -> None:
    config = RunConfig.model_validate({"engine": "vllm", "seed": 7, "vllm": {"max_model_len": 512}})
    args = engine_args(config)
    assert isinstance(args, VllmArgs)
    assert args.vllm.max_model_len == 512 and args.seed == 7 and args.engine is EngineName.vllm
    assert not hasattr(args, "transformers") and not hasattr(args, "workload")


def test_the_openai_engine_is_given_nothing_of_the_model_it_does_not_load() -> None:
    args = engine_args(RunConfig.model_validate({"engine": "openai", "dtype": "float16"}))
    assert isinstance(args, OpenAIArgs) and not hasattr(args, "dtype") and not hasattr(args, "speculative")


def test_settings_an_engine_does_not_read_are_derived_from_its_arguments() -> None:
    chosen = [
        "dtype",
        "vllm.max_num_seqs",
        "echo.slots",
        "workload.rate",
        "output.dir",
        "speculative.draft_schedule",
    ]
    assert engine_spec(EngineName.echo).ignored_settings(chosen) == ["vllm.max_num_seqs"]
    assert engine_spec(EngineName.openai).ignored_settings(chosen) == [
        "dtype",
        "echo.slots",
        "speculative.draft_schedule",
        "vllm.max_num_seqs",
    ]
    assert EchoArgs.settings() >= {"echo", "method", "model"}


def test_every_engine_is_registered_under_its_own_name_and_section() -> None:
    assert set(ENGINES) == set(EngineName)
    assert all(spec.name is name and spec.section == name.value for name, spec in ENGINES.items())


def test_no_engine_module_imports_the_run_config() -> None:
    importers = []
    for path in ENGINES_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and any(alias.name == "RunConfig" for alias in node.names):
                importers.append(path.name)
    assert importers == []
