"""Errors that reach the user as one line and a non-zero exit code, never as a traceback."""


class SpecbenchError(Exception):
    """A problem the user can fix: the message says what is wrong and how to fix it."""

    exit_code = 2


class ConfigError(SpecbenchError):
    """A bad flag, environment variable, profile or value."""


class EngineStartError(SpecbenchError):
    """The engine could not be loaded or started."""


def cannot_write(what: object, reason: OSError | str, flag: str = "--output") -> ConfigError:
    """The one line for a place that cannot be written: what, why, and the flag that sends it elsewhere."""
    why = reason if isinstance(reason, str) else (reason.strerror or str(reason))
    return ConfigError(f"cannot write {what}: {why}; pass another {flag}")
