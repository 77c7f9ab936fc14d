"""What a local model directory holds: its config.json, read once the same way everywhere, and whether it
has tokenizer files. Engines, the workload, check-env and the roofline all ask these questions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from specbench.errors import SpecbenchError

# Any of these beside config.json means a tokenizer can be loaded from the directory.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "vocab.json",
    "spiece.model",
    "vocab.txt",
)
# Where config.json keeps the context length, by model family, most common first.
_CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length")


class ModelConfigError(SpecbenchError):
    """A model directory whose config.json cannot be read or counted: the message says why."""


def read_model_config(model_dir: Path) -> dict[str, Any]:
    path = model_dir / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelConfigError(
            f"{model_dir} has no config.json: pass a Hugging Face model directory"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelConfigError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except json.JSONDecodeError as exc:
        raise ModelConfigError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise ModelConfigError(f"{path} is not a JSON object of settings")
    return data


def text_config(config: dict[str, Any]) -> dict[str, Any]:
    """The language model's settings: multimodal configs keep them under text_config."""
    inner = config.get("text_config")
    return inner if isinstance(inner, dict) else config


def setting(config: dict[str, Any], key: str) -> Any:
    """A setting of the language model, looked up under text_config first, then at the top level."""
    return text_config(config).get(key, config.get(key))


def context_length(config: dict[str, Any]) -> int | None:
    """The model's own context length, if config.json states one."""
    for key in _CONTEXT_KEYS:
        value = setting(config, key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def has_tokenizer(model_dir: Path) -> bool:
    return any((model_dir / name).is_file() for name in TOKENIZER_FILES)
