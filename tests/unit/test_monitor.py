"""`specbench monitor` against a fake NVML: rows in CSV and JSONL, a clean end on SIGTERM, one-line errors."""

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from specbench.cli import main
from tests.fake_nvml import FakeNvml, h200s

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeNvml:
    gpus = h200s(3)
    gpus[1].processes = [(os.getpid(), 3 * 2**30)]
    gpus[1].clock_event_reasons = 0x4
    gpus[2].set_power(150_000)
    nvml = FakeNvml(gpus)
    monkeypatch.setitem(sys.modules, "pynvml", nvml.module)
    return nvml


def test_csv_gets_a_header_then_one_row_per_gpu_per_sample(fake, tmp_path: Path, capsys):
    out = tmp_path / "gpus.csv"
    assert (
        main(["monitor", "--gpus", "1,2", "--interval", "0.05", "--duration", "0.2", "--output", str(out)])
        == 0
    )
    rows = list(csv.DictReader(out.open()))
    assert len(rows) >= 6 and len(rows) % 2 == 0
    assert {row["gpu"] for row in rows} == {"1", "2"}
    gpu1 = next(row for row in rows if row["gpu"] == "1")
    assert gpu1["uuid"] == fake.gpus[1].uuid and gpu1["power_w"] == "300.0"
    assert gpu1["clock_event_reasons"] == "sw_power_cap" and gpu1["memory_used_gib"] == "20.0"
    assert gpu1["processes"].startswith(f"{os.getpid()}:") and gpu1["processes"].endswith(":3.0")
    assert next(row for row in rows if row["gpu"] == "2")["power_w"] == "150.0"
    assert "done after" in capsys.readouterr().out
    assert fake.sessions == 0


def test_a_second_run_appends_to_the_csv_without_a_second_header(fake, tmp_path: Path):
    out = tmp_path / "gpus.csv"
    for _ in range(2):
        assert main(["monitor", "--gpus", "0", "--interval", "0.05", "--duration", "0", "-o", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith("time,t_s,gpu")


def test_jsonl_rows_carry_readings_and_processes(fake, tmp_path: Path):
    out = tmp_path / "gpus.jsonl"
    assert main(["monitor", "--interval", "0.05", "--duration", "0.1", "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) % 3 == 0 and {row["gpu"] for row in rows} == {0, 1, 2}
    row = next(row for row in rows if row["gpu"] == 1)
    assert row["processes"][0]["pid"] == os.getpid() and row["processes"][0]["used_gib"] == 3.0
    assert row["clock_event_reasons"] == ["sw_power_cap"] and row["temperature_c"] == 45


def test_sigterm_ends_the_monitor_cleanly_with_whole_rows_in_the_file(tmp_path: Path):
    out = tmp_path / "gpus.jsonl"
    bootstrap = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from tests.fake_nvml import FakeNvml, h200s
        sys.modules["pynvml"] = FakeNvml(h200s(2)).module
        from specbench.cli import main
        sys.exit(main(["monitor", "--interval", "0.05", "--output", {str(out)!r}]))
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", bootstrap], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 6):
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert b"SIGTERM: stopped after" in stdout
    lines = out.read_text().splitlines()
    assert len(lines) >= 6 and len(lines) % 2 == 0
    assert all(json.loads(line)["gpu"] in (0, 1) for line in lines)


def test_without_nvml_one_line_and_exit_1(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    assert main(["monitor", "--duration", "1"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == 'error: no GPU to watch: nvidia-ml-py is not installed (pip install "specbench[gpu]")'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gpus", "0,x"], "--gpus '0,x': give GPU numbers"),
        (["--gpus", "5"], "there is no GPU 5; this machine has GPUs 0–2"),
        (["--output", "gpus.txt"], "name a .csv or a .jsonl file"),
        (["--interval", "0"], "--interval"),
    ],
)
def test_bad_flags_exit_2_with_one_line(fake, args, message, capsys):
    assert main(["monitor", "--duration", "0", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
