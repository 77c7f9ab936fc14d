"""Ctrl-C and SIGTERM (what `timeout`, `kill`, Slurm and Kubernetes send) during a run: sending stops,
in-flight requests end within seconds (at once on a second signal), and what was measured is saved with
status "interrupted" — every finished request and every cancelled one in the per-request file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# A small vLLM on the CPU, started fast.
VLLM_CPU = ("--engine", "vllm", "--kv-cache-space", "1", "--max-model-len", "256", "--enforce-eager")


def start_run(out: Path, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "specbench", "run", "--output", str(out), *args]
    # A session of its own, so the test can tell whether any process it started outlives it.
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )


def wait_for_records(records: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not (records.exists() and records.stat().st_size > 0):
        assert time.monotonic() < deadline, "no request finished in time"
        time.sleep(0.2)


def processes_in_session(sid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid:
                    pids.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                continue
    return pids


def processes_left(process: subprocess.Popen[str], within_s: float = 15) -> list[int]:
    """Processes of the run's session still alive `within_s` after it exited (engine cores, workers)."""
    deadline = time.monotonic() + within_s
    while (left := processes_in_session(process.pid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def echo_run(out: Path) -> subprocess.Popen[str]:
    # Requests of 2 s each arriving at 40/s: dozens are in flight when the signal comes.
    return start_run(
        out,
        "--engine",
        "echo",
        "--rate",
        "40",
        "--num-prompts",
        "100000",
        "--output-len",
        "100",
        "--echo-token-delay-ms",
        "20",
    )


def assert_saved_interrupted(out: Path) -> tuple[dict, list[dict]]:
    result = json.loads(out.read_text())
    assert result["run"]["status"] == "interrupted"
    assert result["completed"] > 0
    assert result["run"]["num_not_sent"] > 0
    rows = [json.loads(line) for line in out.with_name(out.stem + "_requests.jsonl").read_text().splitlines()]
    # Every request that was sent left exactly one record: completed ones and cancelled ones.
    assert len(rows) == result["completed"] + result["failed"]
    assert len({row["request_id"] for row in rows}) == len(rows)
    return result, rows


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_saves_what_was_measured(tmp_path: Path, signum: int, code: int):
    out = tmp_path / "r.json"
    process = echo_run(out)
    wait_for_records(out.with_name("r_requests.jsonl"))
    process.send_signal(signum)
    stopped_at = time.monotonic()
    output, _ = process.communicate(timeout=30)
    assert time.monotonic() - stopped_at < 10, output
    assert process.returncode == code, output
    assert "Traceback" not in output
    assert "Serving Benchmark Result" in output
    assert_saved_interrupted(out)


def test_a_second_signal_cancels_in_flight_requests_at_once(tmp_path: Path):
    out = tmp_path / "r.json"
    process = echo_run(out)
    wait_for_records(out.with_name("r_requests.jsonl"))
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    stopped_at = time.monotonic()
    output, _ = process.communicate(timeout=30)
    # Without the second signal the in-flight requests (2 s each) would have had their 5 s of grace.
    assert time.monotonic() - stopped_at < 3, output
    assert process.returncode == 130, output
    _, rows = assert_saved_interrupted(out)
    assert any((row["error"] or "").startswith("cancelled") for row in rows)


@pytest.mark.vllm
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_vllm_starts_leaves_no_engine_process(
    tmp_path: Path, signum: int, code: int, tiny_models
):
    pytest.importorskip("vllm")
    out = tmp_path / "r.json"
    process = start_run(
        out,
        "--engine",
        "vllm",
        "--model",
        str(tiny_models.target),
        "--num-prompts",
        "4",
        "--kv-cache-space",
        "1",
        "--max-model-len",
        "256",
        "--enforce-eager",
    )
    log = out.with_name("r_engine.log")
    # Once vLLM has logged something, its engine core process exists.
    deadline = time.monotonic() + 120
    while not (log.exists() and log.stat().st_size > 2000):
        assert time.monotonic() < deadline and process.poll() is None, "vLLM did not start logging"
        time.sleep(0.2)
    process.send_signal(signum)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == code, output
    assert "Traceback" not in output
    assert "nothing was measured" in output
    assert not out.exists()
    assert processes_left(process) == []


@pytest.mark.vllm
def test_sigterm_during_a_vllm_run_saves_it_and_leaves_no_engine_process(tmp_path: Path, tiny_models):
    pytest.importorskip("vllm")
    out = tmp_path / "r.json"
    load = ("--num-prompts", "100000", "--rate", "20", "--input-len", "16", "--output-len", "64")
    process = start_run(out, *VLLM_CPU, "--model", str(tiny_models.target), *load)
    wait_for_records(out.with_name("r_requests.jsonl"), timeout_s=240)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 143, output
    assert "Traceback" not in output
    assert_saved_interrupted(out)
    assert processes_left(process) == []
