"""Shared prefixes: synthetic prompts from G groups, each group's prompts opening with the same L tokens.

The shape of SGLang's generated-shared-prefix and vLLM's prefix_repetition datasets: a system prompt or
document shared by many requests, then each request's own question. With prefix caching on, every prompt
after a group's first finds L tokens cached; off, each prompt is computed whole.
"""

from __future__ import annotations

import numpy as np

from specbench.errors import ConfigError
from specbench.workload.prompts import Prompt, synthetic_prompts
from specbench.workload.tokenizer import PromptTokenizer


def shared_prefix_prompts(
    count: int,
    *,
    groups: int,
    prefix_len: int,
    input_len: int,
    output_len: int,
    tokenizer: PromptTokenizer,
    rng: np.random.Generator,
) -> tuple[list[Prompt], list[int]]:
    """`count` prompts of exactly input_len tokens and the group of each, drawn uniformly at random.

    Groups' prefixes and every suffix are random ordinary tokens; a suffix is never empty, so no two
    prompts are the same request.
    """
    if prefix_len >= input_len:
        raise ConfigError(f"--prefix-len {prefix_len} must be shorter than --input-len {input_len}")
    prefixes = synthetic_prompts(
        groups, input_len=prefix_len, output_len=output_len, tokenizer=tokenizer, rng=rng
    )
    suffixes = synthetic_prompts(
        count, input_len=input_len - prefix_len, output_len=output_len, tokenizer=tokenizer, rng=rng
    )
    members = rng.integers(groups, size=count).tolist()
    prompts = [
        Prompt(token_ids=prefixes[group].token_ids + suffix.token_ids, output_len=output_len)
        for group, suffix in zip(members, suffixes, strict=True)
    ]
    return prompts, members
