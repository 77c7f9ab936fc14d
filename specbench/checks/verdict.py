"""A check's verdict: pass, warn or fail, what was found, and the one-line fix."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"  # works, or is not needed by the chosen engine, but worth knowing
    FAIL = "fail"  # the chosen engine cannot run like this


@dataclass(frozen=True, slots=True)
class Verdict:
    name: str
    status: Status
    detail: str
    hint: str = ""  # how to fix it; empty when there is nothing to do

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status.value, "detail": self.detail, "hint": self.hint}


def needed(is_needed: bool) -> Status:
    """What a missing or broken part costs: a failure when the engine needs it, a warning otherwise."""
    return Status.FAIL if is_needed else Status.WARN
