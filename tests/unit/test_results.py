"""The result file: original names, atomic writes, nothing earlier lost."""

import json
import math
from pathlib import Path

import pytest

from specbench.config import RunConfig
from specbench.results.files import (
    default_result_name,
    engine_log_path,
    requests_path,
    result_path,
    set_aside_previous,
    write_json_atomic,
)


@pytest.mark.parametrize(
    ("engine", "method", "name"),
    [
        ("transformers", "target-ar", "benchmark_results_target_ar.json"),
        ("vllm", "target-ar", "benchmark_results_target_ar_vllm.json"),
        ("vllm", "speculative", "benchmark_results_speculative_vllm.json"),
        ("transformers", "draft-ar", "benchmark_results_draft_ar.json"),
    ],
)
def test_default_names_follow_the_original_tool(engine, method, name):
    config = RunConfig.model_validate({"engine": engine, "method": method, "draft_model": "/d"})
    assert default_result_name(config) == name


def test_explicit_output_path_wins_and_records_sit_beside_it(tmp_path: Path):
    config = RunConfig.model_validate({"output": {"path": str(tmp_path / "a.json")}})
    assert result_path(config) == tmp_path / "a.json"
    assert requests_path(tmp_path / "a.json") == tmp_path / "a_requests.jsonl"


def test_atomic_write_leaves_no_temporary_file_and_encodes_infinity(tmp_path: Path):
    path = tmp_path / "sub" / "r.json"
    write_json_atomic(path, {"rate": math.inf, "values": [1.0, math.nan]})
    assert json.loads(path.read_text()) == {"rate": "inf", "values": [1.0, None]}
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]


def test_failed_write_keeps_the_previous_file(tmp_path: Path):
    path = tmp_path / "r.json"
    write_json_atomic(path, {"run": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"run": object()})
    assert json.loads(path.read_text()) == {"run": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_an_earlier_result_and_its_records_are_set_aside_not_overwritten(tmp_path: Path):
    path = tmp_path / "benchmark_results_target_ar.json"
    path.write_text("{}")
    requests_path(path).write_text("")
    kept = set_aside_previous(path)
    assert kept is not None and kept.exists() and not path.exists()
    assert requests_path(kept).exists()
    assert set_aside_previous(path) is None


def test_a_kept_result_names_its_records_and_log_under_their_kept_names(tmp_path: Path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"run": {"requests_file": "r_requests.jsonl", "engine_log": "r_engine.log"}}))
    requests_path(path).write_text("")
    engine_log_path(path).write_text("log")
    mtime = path.stat().st_mtime_ns
    kept = set_aside_previous(path)
    assert kept is not None
    run = json.loads(kept.read_text())["run"]
    assert run == {"requests_file": f"{kept.stem}_requests.jsonl", "engine_log": f"{kept.stem}_engine.log"}
    assert (tmp_path / run["requests_file"]).exists() and (tmp_path / run["engine_log"]).read_text() == "log"
    assert kept.stat().st_mtime_ns == mtime  # its name's time stamp stays its own


def test_a_kept_result_whose_records_were_gone_names_none_rather_than_the_next_runs(tmp_path: Path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"run": {"requests_file": "r_requests.jsonl", "engine_log": None}}))
    kept = set_aside_previous(path)
    assert kept is not None
    assert json.loads(kept.read_text())["run"] == {"requests_file": None, "engine_log": None}


def test_a_kept_file_that_is_not_a_specbench_result_is_moved_as_it_is(tmp_path: Path):
    path = tmp_path / "r.json"
    path.write_text("not json")
    kept = set_aside_previous(path)
    assert kept is not None and kept.read_text() == "not json"


def test_a_bare_output_name_goes_into_the_output_dir_given_beside_it(tmp_path: Path):
    config = RunConfig.model_validate({"output": {"dir": str(tmp_path), "path": "mine.json"}})
    assert result_path(config) == tmp_path / "mine.json"
    alone = RunConfig.model_validate({"output": {"path": "mine.json"}})
    assert result_path(alone) == Path("mine.json")  # no --output-dir: where the user is
    nested = RunConfig.model_validate({"output": {"dir": str(tmp_path), "path": "sub/mine.json"}})
    assert result_path(nested) == Path("sub/mine.json")  # a path with a directory stands as given
