"""A figure a newer specbench writes survives an older one: load keeps it, compare shows it as one of the
other figures, and the result and the comparison's JSON carry it on."""

from __future__ import annotations

import json
from pathlib import Path

from results_factory import make_result

from specbench.cli import main
from specbench.results.files import write_json_atomic
from specbench.results.load import load_result


def written(path: Path, throughput: float, new_figure: float) -> Path:
    data = make_result(output_throughput=throughput).to_json_dict()
    data["mean_new_figure_ms"] = new_figure  # a figure this registry does not declare
    data["new_note"] = "kept too"
    write_json_atomic(path, data)
    return path


def test_load_keeps_unknown_top_level_keys_and_writes_them_back(tmp_path: Path) -> None:
    result = load_result(written(tmp_path / "a.json", 100.0, 12.5))
    assert result.other == {"mean_new_figure_ms": 12.5, "new_note": "kept too"}
    assert "mean_new_figure_ms" not in result.metrics
    again = result.to_json_dict()
    assert again["mean_new_figure_ms"] == 12.5 and again["new_note"] == "kept too"


def test_a_result_without_unknown_keys_is_written_as_before() -> None:
    result = make_result()
    assert "other" not in result.to_json_dict()


def test_compare_shows_an_unknown_figure_as_an_other_figure_in_its_json(tmp_path: Path, capsys) -> None:
    first = written(tmp_path / "a.json", 100.0, 10.0)
    second = written(tmp_path / "b.json", 200.0, 20.0)
    out = tmp_path / "comparison.json"
    assert main(["compare", str(first), str(second), "--format", "json", "--output", str(out)]) == 0
    rows = {row["key"]: row for row in json.loads(out.read_text())["rows"]}
    row = rows["mean_new_figure_ms"]
    assert row["group"] == "Other figures" and row["values"] == [10.0, 20.0]
    assert row["ratios"] == [None, 2.0] and row["verdicts"] == [None, None]
    assert "new_note" not in rows  # text is kept in the file, not shown as a figure


def test_the_terminal_table_lists_the_other_figures(tmp_path: Path, capsys) -> None:
    first = written(tmp_path / "a.json", 100.0, 10.0)
    assert main(["compare", str(first), str(written(tmp_path / "b.json", 100.0, 30.0))]) == 0
    screen = capsys.readouterr().out
    assert "Other figures" in screen and "mean_new_figure_ms" in screen
