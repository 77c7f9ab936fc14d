"""The engine's own output goes to its log file, child processes included; specbench's console does not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from specbench.session.engine_log import EngineLog


def test_output_of_this_process_and_its_children_goes_to_the_log_not_the_console(tmp_path: Path, capfd):
    log = EngineLog(tmp_path / "engine.log")
    log.start()
    try:
        console = log.original_stream(1)
        assert console is not None
        os.write(1, b"from python\n")  # what any library printing to stdout ends up doing
        subprocess.run(
            [sys.executable, "-c", "import sys; print('from a child'); print('oops', file=sys.stderr)"]
        )
        console.write("specbench's own line\n")
        console.close()
    finally:
        log.stop()
    out, err = capfd.readouterr()
    assert out == "specbench's own line\n" and err == ""
    assert log.path.read_text().splitlines() == ["from python", "from a child", "oops"]
    print("after stop")
    assert capfd.readouterr().out == "after stop\n"


def test_the_start_up_phase_is_read_from_what_the_engine_logged(tmp_path: Path):
    log = EngineLog(tmp_path / "engine.log")
    assert log.poll_phase() is None
    log.path.write_text("INFO Loading weights took 3.1 s\n")
    assert log.poll_phase() == "loading weights"
    with log.path.open("a") as handle:
        handle.write("INFO Capturing CUDA graphs (decode, FULL): 100%\n")
    assert log.poll_phase() == "capturing CUDA graphs"
    assert log.tail(1) == ["INFO Capturing CUDA graphs (decode, FULL): 100%"]


def test_an_empty_log_is_removed_and_one_with_words_kept(tmp_path: Path):
    empty = EngineLog(tmp_path / "empty.log")
    empty.start()
    empty.stop()
    assert empty.discard_if_empty() and not empty.path.exists()
    kept = EngineLog(tmp_path / "kept.log")
    kept.path.write_text("vLLM says hello\n")
    assert not kept.discard_if_empty() and kept.path.exists()
