"""The API key: read from the environment variable the user names, sent as a bearer token, never shown.

The key is no setting (only the variable's name is), so it cannot reach a result file, `--dry-run` or the
run header; what is left to guard are messages that quote it back, which `ApiKey.scrub` covers.
"""

from __future__ import annotations

from collections.abc import Mapping

from specbench.errors import EngineStartError

_SHOWN = "***"


class ApiKey:
    __slots__ = ("_value", "env_name")

    def __init__(self, env_name: str | None, value: str | None) -> None:
        self.env_name = env_name
        self._value = value or None

    @classmethod
    def from_env(cls, env_name: str | None, environ: Mapping[str, str]) -> ApiKey:
        if env_name is None:
            return cls(None, None)
        value = environ.get(env_name, "").strip()
        if not value:
            raise EngineStartError(
                f"--api-key-env {env_name}: that environment variable is not set or empty; export it, or "
                "leave --api-key-env out for a server that needs no key"
            )
        if any(char in value for char in "\r\n"):
            raise EngineStartError(f"${env_name} holds a line break: it cannot be sent as an HTTP header")
        return cls(env_name, value)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._value}"} if self._value else {}

    def scrub(self, text: str) -> str:
        """`text` with the key replaced, for messages built from what a server sent back."""
        return text.replace(self._value, _SHOWN) if self._value and self._value in text else text

    def describe(self) -> str | None:
        return f"from ${self.env_name}" if self.env_name else None

    def __repr__(self) -> str:
        return f"ApiKey({self.describe() or 'none'})"
