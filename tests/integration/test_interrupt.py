"""Ctrl-C during a run: sending stops, in-flight requests end within seconds, and what was measured
is saved with status "interrupted"."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_ctrl_c_saves_what_was_measured(tmp_path: Path):
    out = tmp_path / "r.json"
    command = [
        sys.executable,
        "-m",
        "specbench",
        "run",
        "--engine",
        "echo",
        "--rate",
        "40",
        "--num-prompts",
        "100000",
        "--output-len",
        "50",
        "--echo-token-delay-ms",
        "20",
        "--output",
        str(out),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    records = out.with_name("r_requests.jsonl")
    deadline = time.monotonic() + 60
    while not (records.exists() and records.stat().st_size > 0) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    stopped_at = time.monotonic()
    output, _ = process.communicate(timeout=30)
    assert time.monotonic() - stopped_at < 10, output

    assert process.returncode == 130, output
    assert "Traceback" not in output
    result = json.loads(out.read_text())
    assert result["run"]["status"] == "interrupted"
    assert result["completed"] > 0
    assert result["run"]["num_not_sent"] > 0
    lines = records.read_text().splitlines()
    # Every request that was sent left exactly one record: completed ones and cancelled ones.
    assert len(lines) == result["completed"] + result["failed"]
    assert len({json.loads(line)["request_id"] for line in lines}) == len(lines)
