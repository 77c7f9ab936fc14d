"""The head-to-head through the real CLI, ending in the compare table, and `specbench compare` on the
files it wrote and on files of every kind it must refuse (one line, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from specbench.cli import main
from tests.results_factory import make_result, save

FAST = ["--num-prompts", "6", "--rate", "inf", "--input-len", "16", "--output-len", "8", "--warmup", "1"]


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps at COLUMNS: wide enough that paths and table rows stay on one line each."""
    monkeypatch.setenv("COLUMNS", "300")


def run_directory(output_dir: Path) -> Path:
    (directory,) = [p for p in output_dir.iterdir() if p.is_dir()]
    return directory


def test_echo_head_to_head_ends_in_the_compare_table(tmp_path: Path, capsys) -> None:
    code = main(
        ["run", "--engine", "echo", "--method", "target-ar,speculative", *FAST, "--output-dir", str(tmp_path)]
    )
    assert code == 0
    out = capsys.readouterr().out
    directory = run_directory(tmp_path)
    assert f"specbench · 2 results in {directory}" in out
    assert "[1] echo · target-ar (baseline)" in out and "[2] echo · speculative" in out
    assert "echo · speculative:" in out  # the speed-up sentence
    names = sorted(p.name for p in directory.iterdir())
    assert names == [
        "benchmark_results_speculative_echo.json",
        "benchmark_results_speculative_echo_requests.jsonl",
        "benchmark_results_target_ar_echo.json",
        "benchmark_results_target_ar_echo_requests.jsonl",
        "index.json",
    ]
    assert main(["compare", str(directory), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [run["label"] for run in data["runs"]] == ["echo · target-ar", "echo · speculative"]
    completed = next(row for row in data["rows"] if row["key"] == "request_throughput")
    assert all(value > 0 for value in completed["values"])


def test_transformers_and_echo_head_to_head_names_each_engine_and_warns_of_the_model(
    tiny_models, tmp_path: Path, capsys
) -> None:
    code = main(["run", "--engine", "transformers,echo", *FAST, "--output-dir", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "[1] transformers · target-ar (baseline)" in out and "[2] echo · target-ar" in out
    assert "warning: different models:" in out
    directory = run_directory(tmp_path)
    files = {p.name for p in directory.iterdir()}
    assert {"benchmark_results_target_ar_transformers.json", "benchmark_results_target_ar_echo.json"} <= files
    result = json.loads((directory / "benchmark_results_target_ar_transformers.json").read_text())
    assert result["completed"] == 6 and result["engine"]["name"] == "transformers"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine where --device cuda cannot start")
def test_a_combination_that_cannot_start_is_in_the_table_and_the_others_still_run(
    tiny_models, tmp_path: Path, capsys
) -> None:
    code = main(
        ["run", "--engine", "transformers,echo", "--device", "cuda", *FAST, "--output-dir", str(tmp_path)]
    )
    assert code == 1
    captured = capsys.readouterr()
    out = captured.out
    assert "no result: --device cuda was requested but torch sees no CUDA GPU" in out
    assert "[2] echo · target-ar (baseline)" in out
    index = json.loads((run_directory(tmp_path) / "index.json").read_text())
    assert [entry["status"] for entry in index["entries"]] == ["failed", "completed"]


def test_compare_writes_each_format_to_a_file(tmp_path: Path) -> None:
    a = save(make_result(output_throughput=100.0), tmp_path / "a.json")
    b = save(make_result(engine="vllm", output_throughput=730.0), tmp_path / "b.json")
    for fmt, check in (
        ("table", "7.30×"),
        ("markdown", "| Output token throughput (tok/s) | 100.00 | 730.00 | 7.30× (better) |"),
        ("csv", "Throughput,output_throughput,Output token throughput (tok/s),tok/s,higher,100.0,730.0,7.3"),
    ):
        out = tmp_path / f"c.{fmt}"
        assert main(["compare", str(a), str(b), "--format", fmt, "--output", str(out)]) == 0
        assert check in out.read_text()
    assert main(["compare", str(a), str(b), "-f", "json", "-o", str(tmp_path / "c.json")]) == 0
    assert json.loads((tmp_path / "c.json").read_text())["baseline"] == "transformers · target-ar"
    assert (
        main(["compare", str(a), str(b), "--baseline", "2", "-f", "csv", "-o", str(tmp_path / "d.csv")]) == 0
    )
    assert ",100.0,730.0,0.136986" in (tmp_path / "d.csv").read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"run": {"id": ', "is not valid JSON (line 1"),
        ('{"name": "something else"}', "is not a result file specbench reads: expected a specbench result"),
        (None, "is a directory without index.json"),
    ],
)
def test_compare_refuses_bad_input_in_one_line_with_exit_2(tmp_path: Path, capsys, content, message) -> None:
    good = save(make_result(), tmp_path / "good.json")
    bad = tmp_path / "bad"
    if content is None:
        bad.mkdir()
    else:
        bad.write_text(content)
    assert main(["compare", str(good), str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_compare_with_an_unknown_metric_or_baseline_is_one_line(tmp_path: Path, capsys) -> None:
    path = save(make_result(), tmp_path / "a.json")
    assert main(["compare", str(path), "--metrics", "speed"]) == 2
    assert main(["compare", str(path), "--baseline", "2"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("error: --metrics: no metric 'speed'")
    assert lines[1] == "error: --baseline 2: there are 1 runs; pick 1 to 1"


def refuse_constant(name: str) -> None:
    raise AssertionError(f"{name} in JSON output")


def corrupt_copy(path: Path, **figures: object) -> Path:
    data = make_result().to_json_dict() | figures
    path.write_text(json.dumps(data))  # NaN written as NaN, as json.dumps does by default
    return path


@pytest.mark.parametrize("output_format", ["table", "json"])
def test_compare_refuses_a_figure_of_the_wrong_type_or_nan_naming_file_and_field(
    tmp_path: Path, capsys, output_format: str
) -> None:
    good = save(make_result(), tmp_path / "good.json")
    words = corrupt_copy(tmp_path / "words.json", completed="fifty", mean_ttft_ms="fast")
    nan = corrupt_copy(tmp_path / "nan.json", output_throughput=float("nan"))
    assert main(["compare", str(good), str(words), "--format", output_format]) == 2
    assert main(["compare", str(good), str(nan), "--format", output_format]) == 2
    captured = capsys.readouterr()
    assert "nan" not in captured.out.lower() and "—" not in captured.out
    first, second = captured.err.strip().splitlines()
    assert str(words) in first and "completed is 'fifty'" in first and "mean_ttft_ms is 'fast'" in first
    assert str(nan) in second and "output_throughput is NaN" in second


def test_a_corrupt_result_in_a_run_directory_is_shown_as_invalid_and_warned_about(
    tmp_path: Path, capsys
) -> None:
    code = main(
        ["run", "--engine", "echo", "--method", "target-ar,speculative", *FAST, "--output-dir", str(tmp_path)]
    )
    assert code == 0
    directory = run_directory(tmp_path)
    spoiled = directory / "benchmark_results_speculative_echo.json"
    data = json.loads(spoiled.read_text()) | {"output_throughput": float("nan")}
    spoiled.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["compare", str(directory), "--format", "json"]) == 0
    captured = capsys.readouterr()
    runs = json.loads(captured.out, parse_constant=refuse_constant)["runs"]
    assert runs[1]["error"] and "output_throughput is NaN" in runs[1]["error"]
    assert "warning: speculative: no result" in captured.err
    assert f"{spoiled}: a figure is not a finite number (output_throughput is NaN)" in captured.err
