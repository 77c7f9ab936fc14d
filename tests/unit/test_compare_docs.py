"""docs/COMPARE.md's table of other tools' figures is the readers' own tables, never a stale copy."""

import runpy
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_compare_doc_reader_table_is_generated_from_the_current_readers():
    module = runpy.run_path(str(DOCS / "gen_compare.py"))
    text = (DOCS / "COMPARE.md").read_text()
    assert text == module["render"](text), "run: python docs/gen_compare.py"
