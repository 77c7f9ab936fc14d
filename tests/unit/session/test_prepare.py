"""Everything checked before an engine starts, by the run and by --dry-run alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from specbench.errors import ConfigError
from specbench.results.files import check_writable
from specbench.session.layout import RunLayout
from specbench.session.prepare import prepare_plan
from specbench.settings import RunPlan, resolve_plan


def plan(tmp_path: Path, **flags: object) -> RunPlan:
    flags = {"engine": "echo", "output.dir": tmp_path / "out", "workload.num_prompts": 4, **flags}
    return resolve_plan(profile=None, flags=flags, flag_names={"workload.rate": "flag --rate"}, environ={})


def test_each_session_is_prepared_with_its_first_workload_and_its_notes(tmp_path: Path) -> None:
    layout = RunLayout(plan(tmp_path, **{"transformers.max_batch_size": 8, "workload.dataset": "random"}))
    (prepared,) = prepare_plan(layout)
    assert prepared.first.workload is not None and len(prepared.first.workload.requests) == 4
    assert any("transformers.max_batch_size" in note for note in prepared.notes)
    assert prepared.summary.kind == "points"


def test_a_sweep_says_the_rate_the_user_chose_is_not_used(tmp_path: Path) -> None:
    layout = RunLayout(plan(tmp_path, **{"sweep.points": 2, "workload.rate": 3.0}))
    (prepared,) = prepare_plan(layout)
    assert any("--sweep chooses every point's rate" in note for note in prepared.notes)
    assert prepared.summary.kind == "sweep"


def test_a_bad_dataset_of_any_session_is_refused_before_anything_runs(tmp_path: Path) -> None:
    layout = RunLayout(
        plan(tmp_path, **{"method": ["target-ar", "draft-ar"], "workload.dataset": "/no.jsonl"})
    )
    with pytest.raises(ConfigError, match="not found"):
        prepare_plan(layout)
    assert not (tmp_path / "out").exists()


def test_preparation_creates_nothing_the_first_result_makes_the_run_folder(tmp_path: Path) -> None:
    layout = RunLayout(plan(tmp_path, **{"workload.rate": [1.0, 2.0]}))
    prepare_plan(layout)
    assert not (tmp_path / "out").exists()


def test_a_folder_below_a_file_cannot_be_written_and_is_refused_without_trace(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"cannot write results to .*/file/sub: .*file is a file, not"):
        check_writable(blocker / "sub")
    with pytest.raises(ConfigError, match="is a file, not a directory"):
        check_writable(blocker)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
