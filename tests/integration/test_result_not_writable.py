"""A result that cannot be written where asked, after the whole run was measured, is not lost: the
summary is still printed, the result goes to a fallback path that is named (or, failing that, to the
screen), and the exit code says something went wrong."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

import specbench.session.output as output
from specbench.cli import main

RUN = ["run", "--engine", "echo", "--num-prompts", "20", "--rate", "200"]


@pytest.fixture
def disk_full_at(monkeypatch):
    """Writes of results into the given directories fail as on a full disk (a fake of the failure only)."""
    full: set[Path] = set()
    real_write = output.write_json_atomic

    def write(path: Path, data: dict) -> None:
        if path.parent.resolve() in full:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, data)

    monkeypatch.setattr(output, "write_json_atomic", write)
    return full


def test_an_unwritable_result_goes_to_a_named_fallback(tmp_path: Path, capfd, disk_full_at, monkeypatch):
    monkeypatch.setattr(output, "fallback_path", lambda path: tmp_path / "fallback" / path.name)
    disk_full_at.add((tmp_path / "out").resolve())
    (tmp_path / "out").mkdir()
    code = main([*RUN, "--output", str(tmp_path / "out" / "r.json")])
    out, err = capfd.readouterr()
    assert code == 1
    assert "Serving Benchmark Result" in out  # the summary is still shown
    assert err.count("\n") == 1 and "No space left on device" in err
    assert str(tmp_path / "fallback" / "r.json") in err
    saved = json.loads((tmp_path / "fallback" / "r.json").read_text())
    assert saved["completed"] == 20
    assert not (tmp_path / "out" / "r.json").exists()


def test_with_no_writable_place_the_result_is_printed(tmp_path: Path, capfd, disk_full_at, monkeypatch):
    monkeypatch.setattr(output, "fallback_path", lambda path: tmp_path / "out" / f"fallback-{path.name}")
    disk_full_at.add((tmp_path / "out").resolve())
    (tmp_path / "out").mkdir()
    code = main([*RUN, "--no-save-requests", "--output", str(tmp_path / "out" / "r.json")])
    out, err = capfd.readouterr()
    assert code == 1
    assert '"completed": 20' in out
    assert "printed above" in err and "Traceback" not in err


def test_result_files_are_readable_by_others_as_the_umask_allows(tmp_path: Path):
    assert main([*RUN, "--output", str(tmp_path / "r.json")]) == 0
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == (
        tmp_path / "r_requests.jsonl"
    ).stat().st_mode & 0o777
