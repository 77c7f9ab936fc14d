"""`specbench check-env`: one function per check, each a pure function of the gathered facts and the run's
config returning a verdict (pass, warn or fail, with a one-line fix)."""

from collections.abc import Callable, Sequence

from specbench.checks.facts import Facts, gather
from specbench.checks.model import MODEL_CHECKS, check_context_length
from specbench.checks.system import SYSTEM_CHECKS
from specbench.checks.verdict import Status, Verdict
from specbench.config import RunConfig

Check = Callable[[Facts, RunConfig], Verdict]


def run_checks(facts: Facts, config: RunConfig) -> list[Verdict]:
    """Every check of the machine, and of the model when the config names one."""
    checks: Sequence[Check] = (*SYSTEM_CHECKS, *(MODEL_CHECKS if config.model is not None else ()))
    if config.model is not None or config.vllm.max_model_len is not None:
        checks = (*checks, check_context_length)
    return [check(facts, config) for check in checks]


def exit_code(verdicts: Sequence[Verdict]) -> int:
    """1 when a check the chosen engine needs failed (only those fail), else 0."""
    return 1 if any(verdict.status is Status.FAIL for verdict in verdicts) else 0


__all__ = ["Check", "Facts", "Status", "Verdict", "exit_code", "gather", "run_checks"]
