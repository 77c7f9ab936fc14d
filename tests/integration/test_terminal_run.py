"""A run in a terminal and a run into a pipe treat the engine's own output alike: Transformers' "Loading
weights" bar goes to the engine log, never onto the screen, and the result lists that log."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(argv: list[str], *, terminal: bool, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    command = [sys.executable, "-m", "specbench", *argv]
    if not terminal:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the pty closes when the process and its children have exited
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    assert process.wait(timeout=300) == 0, screen.decode(errors="replace")
    return screen.decode(errors="replace")


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
def test_the_loading_bar_goes_to_the_engine_log_with_or_without_a_terminal(terminal, tiny_models, tmp_path):
    argv = ["run", "--model", str(tiny_models.target), "--num-prompts", "2", "--output-len", "4"]
    screen = _run([*argv, "--output-dir", "out"], terminal=terminal, cwd=tmp_path)
    assert "Loading weights:" not in screen
    result = json.loads((tmp_path / "out" / "benchmark_results_target_ar.json").read_text())
    log = tmp_path / "out" / result["run"]["engine_log"]
    assert "Loading weights" in log.read_text()
    assert f"  out/{log.name}" in screen.replace("\r", "").splitlines()  # the path whole, on its own line
