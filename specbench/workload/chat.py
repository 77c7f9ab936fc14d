"""A question through the model's chat template: the token ids a chat model is served with.

`--chat-template auto` applies the tokenizer's own template (Transformers' apply_chat_template, one user
message, the generation prompt added) where it has one; `none`, or a tokenizer without a template, tokenizes
the question as written. Only questions go through it (workload/questions.py says which prompts are).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from specbench.workload.tokenizer import HFPromptTokenizer, PromptTokenizer

ChatTemplateMode = Literal["auto", "none"]


@dataclass(frozen=True, slots=True)
class QuestionEncoder:
    """How questions become token ids, and what the workload summary says about it."""

    encode: Callable[[str], list[int]] | None  # None: as written
    applied: str  # "tokenizer" | "off" | "tokenizer has none"


def question_encoder(tokenizer: PromptTokenizer, mode: ChatTemplateMode) -> QuestionEncoder:
    if mode == "none":
        return QuestionEncoder(None, "off")
    hf = tokenizer.tokenizer if isinstance(tokenizer, HFPromptTokenizer) else None
    if hf is None or not getattr(hf, "chat_template", None):
        return QuestionEncoder(None, "tokenizer has none")

    def encode(text: str) -> list[int]:
        # tokenize=False then encode without special tokens: the template writes BOS itself where it wants
        # one, and the result is plain ids whatever this Transformers version returns from the template.
        rendered = hf.apply_chat_template(
            [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
        )
        return list(hf.encode(rendered, add_special_tokens=False))

    return QuestionEncoder(encode, "tokenizer")
