"""What `--help` shows a person: the allowed values of every fixed-choice flag, and summaries never cut."""

from __future__ import annotations

import pytest

from specbench.cli import main


@pytest.mark.parametrize(
    ("flag", "choices"),
    [
        ("--arrival", "[poisson|constant]"),
        ("--dataset-format", "[auto|random|jsonl|sharegpt|hf]"),
        ("--spec-method", "[draft_model|ngram|eagle|eagle3]"),
        ("--draft-schedule", "[constant|heuristic]"),
        ("--batching", "[serial|dynamic|continuous]"),
    ],
)
def test_run_help_lists_the_allowed_values(flag: str, choices: str, capsys) -> None:
    assert main(["run", "--help"]) == 0
    assert f"{flag} {choices}" in capsys.readouterr().out


def test_command_summaries_are_whole_at_80_columns(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    commands = out.split("Commands:")[1]
    assert "..." not in commands and all(len(line) <= 80 for line in out.splitlines())


@pytest.mark.parametrize("command", ["compare", "plot"])
def test_list_arguments_read_as_plain_metavars(command: str, capsys) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"Usage: specbench {command} [OPTIONS] RESULTS..." in out
    assert "<list[Path]>" not in out and "{RESULTS" not in out
