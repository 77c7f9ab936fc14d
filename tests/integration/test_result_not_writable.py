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
from specbench.results.readers import read_results
from specbench.results.readers.records import load_records
from tests.unit.test_record_writer import FillingFile

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


def test_a_result_at_a_fallback_names_its_records_where_they_are_and_says_it_is_incomplete(
    tmp_path: Path, capfd, disk_full_at, monkeypatch
):
    monkeypatch.setattr(output, "fallback_path", lambda path: tmp_path / "fallback" / path.name)
    disk_full_at.add((tmp_path / "out").resolve())
    (tmp_path / "out").mkdir()
    assert main([*RUN, "--output", str(tmp_path / "out" / "r.json")]) == 1
    capfd.readouterr()
    saved = tmp_path / "fallback" / "r.json"
    (loaded,) = read_results(saved).runs
    assert loaded.result.run.status == "incomplete"
    assert loaded.result.run.requests_file == str(tmp_path / "out" / "r_requests.jsonl")
    assert len(load_records(loaded)) == 20  # the records the fallback result names are there
    assert any("could not be written to" in warning for warning in loaded.result.run.warnings)


def test_records_cut_by_a_full_disk_end_on_a_whole_line_and_the_result_says_incomplete(
    tmp_path: Path, capfd, monkeypatch
):
    real_open = Path.open

    def records_disk_fills(self: Path, *args, **kwargs):
        file = real_open(self, *args, **kwargs)
        return FillingFile(file, capacity=3000) if self.name.endswith("_requests.jsonl") else file

    monkeypatch.setattr(Path, "open", records_disk_fills)
    out = tmp_path / "r.json"
    assert main([*RUN, "--output", str(out)]) == 1
    monkeypatch.undo()
    err = capfd.readouterr().err
    assert "could not write the per-request records" in err and "of 20 records are in the file" in err
    data = (tmp_path / "r_requests.jsonl").read_bytes()
    assert data == b"" or data.endswith(b"\n")  # whole records only, however few the full disk took
    (loaded,) = read_results(out).runs
    assert loaded.result.run.status == "incomplete"
    assert loaded.result.metrics["completed"] == 20  # every figure was measured
    assert len(load_records(loaded)) == data.count(b"\n") < 20
