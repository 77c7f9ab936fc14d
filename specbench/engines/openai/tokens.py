"""The served model's tokenizer, where the engine needs one: to send prompts as text (chat, or a server that
refuses token ids) and to count tokens a server does not count for it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from specbench.model_dir import has_tokenizer


class TextTokenizer:
    """encode/decode with a Transformers tokenizer, no special tokens added."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    def encode(self, text: str) -> list[int]:
        return list(self._tokenizer.encode(text, add_special_tokens=False))

    def decode(self, ids: Sequence[int]) -> str:
        return str(self._tokenizer.decode(list(ids)))


def load_text_tokenizer(path: Path | None, *, trust_remote_code: bool) -> tuple[TextTokenizer | None, str]:
    """The tokenizer in `path`, or None with the reason there is none."""
    if path is None:
        return None, "no --tokenizer or --model directory was given"
    if not has_tokenizer(path):
        return None, f"{path} has no tokenizer files"
    try:
        from transformers import AutoTokenizer
    except ImportError:
        return None, 'reading a tokenizer needs transformers (pip install "specbench[transformers]")'
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code)
    except Exception as exc:  # Transformers raises many types here; the user needs only the reason
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"cannot load the tokenizer in {path}: {reason}"
    return TextTokenizer(tokenizer), ""
