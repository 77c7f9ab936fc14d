"""Two runs to the same --output: the earlier result is kept under a timestamped name with its own records
and engine log, and each result, reloaded, reads its own run's files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from specbench.cli import main
from specbench.engines.echo import EchoEngine
from specbench.results.readers import read_results
from specbench.results.readers.records import load_records

NUM = 6


@pytest.fixture
def echo_that_logs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The echo engine, writing one line to its stderr as it starts (its log): `said[0]` is the line."""
    said = ["?"]
    start = EchoEngine.start

    async def start_and_log(self: EchoEngine) -> None:
        os.write(2, f"engine of the {said[0]} run\n".encode())
        await start(self)

    monkeypatch.setattr(EchoEngine, "start", start_and_log)
    return said


def run(out: Path, output_len: int) -> None:
    args = ["--num-prompts", str(NUM), "--rate", "inf", "--input-len", "8", "--output-len", str(output_len)]
    assert main(["run", "--engine", "echo", *args, "--output", str(out)]) == 0


def test_two_runs_to_one_output_each_read_their_own_records_and_engine_log(
    tmp_path: Path, echo_that_logs: list[str], capsys
) -> None:
    out = tmp_path / "r.json"
    for word, output_len in (("first", 4), ("second", 8)):
        echo_that_logs[0] = word
        run(out, output_len)
    assert "An earlier result at" in capsys.readouterr().out
    (kept,) = [path for path in tmp_path.glob("r.*.json")]
    for path, word, output_len in ((kept, "first", 4), (out, "second", 8)):
        (loaded,) = read_results(path).runs
        assert loaded.result is not None
        assert loaded.result.metrics["total_output_tokens"] == NUM * output_len
        records = load_records(loaded)
        assert [record.output_tokens for record in records] == [output_len] * NUM
        assert loaded.result.run.engine_log is not None, f"{path.name} names no engine log"
        assert (tmp_path / loaded.result.run.engine_log).read_text() == f"engine of the {word} run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [
            kept.name,
            f"{kept.stem}_requests.jsonl",
            f"{kept.stem}_engine.log",
            "r.json",
            "r_requests.jsonl",
            "r_engine.log",
        ]
    )


def test_a_third_run_in_the_same_second_keeps_both_earlier_results(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    for output_len in (2, 3, 4):
        run(out, output_len)
    totals = sorted(
        read_results(path).runs[0].result.metrics["total_output_tokens"] for path in tmp_path.glob("r*.json")
    )
    assert totals == [NUM * 2, NUM * 3, NUM * 4]
    for path in tmp_path.glob("r*.json"):
        (loaded,) = read_results(path).runs
        assert {record.output_tokens for record in load_records(loaded)} == {
            loaded.result.metrics["total_output_tokens"] // NUM
        }


def test_a_log_left_by_a_run_without_result_is_kept_aside_not_appended_to(
    tmp_path: Path, echo_that_logs: list[str]
) -> None:
    (tmp_path / "r_engine.log").write_text("an engine that never started\n")
    echo_that_logs[0] = "new"
    run(tmp_path / "r.json", 4)
    assert (tmp_path / "r_engine.log").read_text() == "engine of the new run\n"
    (orphan,) = tmp_path.glob("r.*_engine.log")
    assert orphan.read_text() == "an engine that never started\n"
