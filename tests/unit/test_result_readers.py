"""Reading what users pass to compare and plot: specbench files of every schema, index.json and its
directory, vLLM/guidellm/AIPerf files, and every way a file can be wrong (one line each)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specbench.results.load import ResultFileError
from specbench.results.model import IndexEntry, ResultIndex
from specbench.results.readers import read_results
from specbench.results.readers.records import NoRecords, load_records
from tests.results_factory import make_result, save

EXPECTED = (
    "expected a specbench result or index.json, `vllm bench serve --save-result` JSON, "
    "guidellm's benchmarks JSON or AIPerf's profile_export_aiperf.json"
)


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_specbench_result_round_trips(tmp_path: Path) -> None:
    path = save(make_result(engine="vllm", output_throughput=730.0), tmp_path / "r.json")
    (run,) = read_results(path).runs
    assert run.result is not None and run.result.source_format == "specbench"
    assert run.result.engine.name == "vllm"
    assert run.result.metrics["output_throughput"] == 730.0
    assert run.path == path


def test_schema_1_flat_file_is_upgraded(tmp_path: Path) -> None:
    path = write(
        tmp_path / "old.json",
        {
            "schema_version": "1.0",
            "status": "completed",
            "date": "2026-06-01T10:00:00+00:00",
            "engine": {"name": "transformers"},
            "method": "speculative",
            "model": "/models/qwen3-8b",
            "completed": 10,
            "output_throughput": 55.5,
            "mean_ttft_ms": 12.0,
            "prompt_tokens": 1280,
        },
    )
    result = read_results(path).runs[0].result
    assert result is not None
    assert (result.engine.method, result.engine.model) == ("speculative", "/models/qwen3-8b")
    assert result.metrics["output_throughput"] == 55.5
    assert result.run.started_at == "2026-06-01T10:00:00+00:00"


def test_newer_schema_says_to_upgrade(tmp_path: Path) -> None:
    data = make_result().to_json_dict() | {"schema_version": "3.0"}
    with pytest.raises(ResultFileError, match=r"result schema 3\.0.*upgrade specbench"):
        read_results(write(tmp_path / "new.json", data))


def test_index_directory_gives_every_run_with_failures_and_missing_files_as_errors(tmp_path: Path) -> None:
    save(make_result(), tmp_path / "a.json")
    index = ResultIndex(
        run_id="r",
        kind="head-to-head",
        created_at="2026-12-01T10:00:00+00:00",
        entries=[
            IndexEntry(label="transformers · target-ar", status="completed", result_file="a.json"),
            IndexEntry(
                label="vllm · target-ar", status="failed", result_file=None, error="CUDA out of memory"
            ),
            IndexEntry(label="vllm · speculative", status="completed", result_file="gone.json"),
        ],
    )
    write(tmp_path / "index.json", index.model_dump(mode="json"))
    result_set = read_results(tmp_path)
    assert result_set.kind == "head-to-head"
    ok, failed, missing = result_set.runs
    assert ok.result is not None and ok.label == "transformers · target-ar"
    assert failed.result is None and failed.error == "CUDA out of memory"
    assert missing.result is None and "gone.json: no such file" in (missing.error or "")


def test_directory_without_index_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ResultFileError, match=r"is a directory without index\.json"):
        read_results(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"schema_version": "2.0", "run": {"id"', "is not valid JSON \\(line 1: .*\\); was it cut short\\?"),
        ("", "is not valid JSON \\(it is empty\\)"),
        ('{"rows": [1, 2]}', "is not a result file specbench reads: " + EXPECTED.replace("(", "\\(")),
        ("[1, 2, 3]", "is not a result file specbench reads"),
    ],
)
def test_broken_or_foreign_files_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "f.json"
    path.write_text(text)
    with pytest.raises(ResultFileError, match=message):
        read_results(path)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ResultFileError, match="no such file"):
        read_results(tmp_path / "nope.json")


def test_a_recognised_file_with_a_broken_section_names_the_tool(tmp_path: Path) -> None:
    path = write(tmp_path / "g.json", {"benchmarks": [{"metrics": {}, "config": "not a mapping"}]})
    with pytest.raises(ResultFileError, match="looks like guidellm's benchmarks JSON but cannot be read"):
        read_results(path)


def vllm_result(**extra: object) -> dict:
    return {
        "date": "20261201-120000",
        "backend": "vllm",
        "model_id": "Qwen/Qwen3-8B",
        "request_rate": "inf",
        "duration": 10.0,
        "completed": 100,
        "request_throughput": 10.0,
        "output_throughput": 1280.0,
        "mean_ttft_ms": 25.0,
        "p99_ttft_ms": 50.0,
        "mean_client_queue_time_ms": 3.0,
        **extra,
    }


def test_vllm_keys_and_scales_come_from_the_registry(tmp_path: Path) -> None:
    data = vllm_result(
        spec_decode_acceptance_rate=60.0,
        spec_decode_acceptance_length=3.4,
        spec_decode_num_drafts=200,
        spec_decode_per_position_acceptance_rates=[0.8, 0.4],
    )
    result = read_results(write(tmp_path / "v.json", data)).runs[0].result
    assert result is not None and result.source_format == "vllm-bench-serve"
    metrics = result.metrics
    assert metrics["spec_acceptance_rate"] == pytest.approx(0.6)  # vLLM writes percent
    assert metrics["spec_mean_acceptance_length"] == 3.4
    assert metrics["spec_num_drafts"] == 200
    assert metrics["spec_acceptance_per_position"] == [0.8, 0.4]
    assert metrics["mean_client_queue_ms"] == 3.0  # vLLM: client_queue_time
    assert metrics["requested_rate"] == "inf"
    assert result.engine.model == "Qwen/Qwen3-8B" and result.engine.method == "speculative"
    assert result.run.started_at == "2026-12-01T12:00:00"


def test_vllm_append_result_file_gives_one_run_per_line(tmp_path: Path) -> None:
    path = tmp_path / "appended.json"
    path.write_text(json.dumps(vllm_result()) + "\n" + json.dumps(vllm_result(request_rate=4.0)) + "\n")
    rates = [run.result.metrics["requested_rate"] for run in read_results(path).runs if run.result]
    assert rates == ["inf", 4.0]


def test_vllm_detailed_lists_become_request_records(tmp_path: Path) -> None:
    data = vllm_result(
        start_times=[100.0, 100.5],
        ttfts=[0.02, 0.03],
        itls=[[0.01, 0.01], [0.015]],
        latencies=[0.04, 0.045],
        input_lens=[32, 32],
        output_lens=[3, 3],
        errors=["", ""],
    )
    run = read_results(write(tmp_path / "d.json", data)).runs[0]
    first, second = load_records(run)
    assert first.sent_s == 0.0 and second.sent_s == 0.5
    assert first.ttft_ms == pytest.approx(20.0)
    assert first.itl_ms == pytest.approx([10.0, 10.0])
    assert second.chunk_tokens == [2, 1]  # 3 tokens in 2 chunks
    assert second.e2el_ms == pytest.approx(45.0)


def test_records_of_a_specbench_run_are_read_from_beside_it_and_a_cut_last_line_is_dropped(
    tmp_path: Path,
) -> None:
    result = make_result()
    result.run.requests_file = "r_requests.jsonl"
    path = save(result, tmp_path / "r.json")
    line = {
        "request_id": 0,
        "scheduled_s": 0,
        "ready_s": 0,
        "sent_s": 0,
        "prompt_tokens": 4,
        "expected_output_tokens": 2,
        "chunk_times_s": [0.1, 0.2],
        "chunk_tokens": [1, 1],
        "end_s": 0.2,
        "output_tokens": 2,
    }
    (tmp_path / "r_requests.jsonl").write_text(json.dumps(line) + "\n" + json.dumps(line)[:30])
    records = load_records(read_results(path).runs[0])
    assert len(records) == 1 and records[0].ttft_ms == pytest.approx(100.0)


def test_no_records_says_why(tmp_path: Path) -> None:
    run = read_results(save(make_result(), tmp_path / "r.json")).runs[0]
    with pytest.raises(NoRecords, match="--no-save-requests"):
        load_records(run)


def test_an_index_over_rates_says_its_load_varies(tmp_path: Path) -> None:
    save(make_result(rate=1.0), tmp_path / "a.json")
    index = ResultIndex(
        run_id="r",
        kind="sweep",
        created_at="2026-12-01T10:00:00+00:00",
        entries=[
            IndexEntry(
                label="rate 1", status="completed", result_file="a.json", settings={"workload.rate": 1.0}
            )
        ],
    )
    write(tmp_path / "index.json", index.model_dump(mode="json"))
    assert read_results(tmp_path).load_varied
