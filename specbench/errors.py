"""Errors that reach the user as one line and a non-zero exit code, never as a traceback."""


class SpecbenchError(Exception):
    """A problem the user can fix: the message says what is wrong and how to fix it."""

    exit_code = 2


class ConfigError(SpecbenchError):
    """A bad flag, environment variable, profile or value."""


class EngineStartError(SpecbenchError):
    """The engine could not be loaded or started."""
