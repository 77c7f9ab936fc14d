"""`--dry-run` refuses exactly what the run refuses, with the same one line and exit 2.

Every bad invocation of test_bad_input (those past the command line's own parsing) is run twice, as a run
and as a dry run, and so is every refusal the plan runner makes before an engine starts: several results
for one --output, a sweep given several rates, a missing model, a bad dataset, a context too long, a place
that cannot be written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_bad_input import CASES, files  # noqa: F401  (files: the fixture the cases name)

from specbench.cli import main

ECHO = ["run", "--engine", "echo", "--num-prompts", "3"]

# Refusals of the plan as a whole: these made the run fail while the dry run passed.
PLAN_CASES: list[list[str]] = [
    ["run", "--engine", "echo", "--sweep", "5", "--rate", "1,2"],
    ["run", "--engine", "echo", "--sweep", "5", "--max-concurrency", "1,4"],
    ["run", "--engine", "echo", "--find-max-rate", "--slo-ttft-ms", "50", "--rate", "1,2"],
    ["run", "--engine", "echo,transformers", "--output", "x.json"],
    ["run", "--engine", "echo", "--sweep", "5", "--output", "x.json"],
    ["run", "--engine", "echo", "--find-max-rate", "--slo-ttft-ms", "50", "--output", "x.json"],
    [*ECHO, "--method", "target-ar,draft-ar", "--output", "x.json"],
    [*ECHO, "--engine", "echo,openai", "--dataset", "random"],
    [*ECHO, "--engine", "echo,transformers", "--model", "{no_config}"],
    [*ECHO, "--rate", "1,2", "--dataset", "{bad_jsonl}"],
    [*ECHO, "--engine", "echo", "--output-dir", "{prompts_txt}"],
]

# Refused by the command line's own parsing, before any plan exists: nothing for a dry run to differ on.
PARSED = {"--nonsense", "smoke", "many"}
# Refused only when the engine starts (a server that does not answer): a dry run starts none.
AT_START = {"http://127.0.0.1:9/v1"}


def _refusal(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    return code, err


def _run_cases() -> list[list[str]]:
    cases = [argv for argv, environ, _ in CASES if argv[0] == "run" and not environ]
    kept = [argv for argv in cases if not (PARSED | AT_START) & set(argv) and argv[-1] != "--profile"]
    return kept + PLAN_CASES


@pytest.mark.parametrize("argv", _run_cases(), ids=lambda argv: " ".join(argv[1:]))
def test_dry_run_refuses_what_the_run_refuses_with_the_same_line(
    argv,
    files,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
    capsys,
    monkeypatch,
):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    argv = [arg.format(**files) for arg in argv]
    run_code, run_err = _refusal(argv, capsys)
    dry_code, dry_err = _refusal([*argv, "--dry-run"], capsys)
    assert run_code == 2, run_err
    assert (dry_code, dry_err) == (run_code, run_err)
    assert len(dry_err.splitlines()) == 1
    assert list(work.iterdir()) == []


@pytest.mark.parametrize(("name", "value"), [("AUTO_RATE", "1,2"), ("INFERENCE_ENGINE", "echo,transformers")])
def test_dry_run_refuses_a_plan_the_environment_makes_impossible(
    name, value, tmp_path: Path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    argv = (
        ["run", "--engine", "echo", "--sweep", "3"] if name == "AUTO_RATE" else ["run", "--output", "x.json"]
    )
    run_code, run_err = _refusal(argv, capsys)
    dry_code, dry_err = _refusal([*argv, "--dry-run"], capsys)
    assert run_code == dry_code == 2
    assert dry_err == run_err


def test_a_dry_run_that_passes_writes_nothing(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--engine", "echo", "--sweep", "3", "--output-dir", "out/deeper", "--dry-run"]) == 0
    assert "sweep.points" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
