"""Reading JSON Lines files (prompts, question sets, traces): one object per line, blank lines skipped, a bad
line named by file and line number."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from specbench.errors import ConfigError


def json_lines(text: str, path: Path) -> Iterator[tuple[str, Any]]:
    """Each non-blank line's JSON value, with where it stands (`path:line`) for error messages."""
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{line_no}"
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not valid JSON ({exc.msg})") from None
