"""Speculation counters: vLLM's definitions, and counting what assisted generation really did."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from specbench.engines.transformers.speculation import (  # noqa: E402
    DraftCounts,
    SpeculationTotals,
    counting_drafts,
)


def totals_of(*rounds: list[tuple[int, int]]) -> SpeculationTotals:
    totals = SpeculationTotals()
    for request in rounds:
        totals.add(DraftCounts(rounds=list(request)))
    return totals


def test_rounds_that_drafted_nothing_are_not_drafts() -> None:
    stats = totals_of([(0, 0), (3, 1), (0, 0)]).as_stats()
    assert stats["spec_num_drafts"] == 1
    assert stats["spec_num_draft_tokens"] == 3
    assert stats["spec_num_accepted_tokens"] == 1


def test_rates_follow_vllm_definitions() -> None:
    stats = totals_of([(4, 4), (4, 1)], [(4, 0)]).as_stats()
    assert stats["spec_acceptance_rate"] == pytest.approx(5 / 12)
    assert stats["spec_mean_acceptance_length"] == pytest.approx(1 + 5 / 3)
    # Position i is accepted in every draft that accepted more than i tokens, over all drafts.
    assert stats["spec_acceptance_per_position"] == pytest.approx([2 / 3, 1 / 3, 1 / 3, 1 / 3])


def test_no_drafts_gives_no_rates() -> None:
    stats = totals_of([(0, 0)]).as_stats()
    assert stats["spec_acceptance_rate"] is None
    assert stats["spec_mean_acceptance_length"] is None
    assert stats["spec_acceptance_per_position"] == []


def test_request_counts_sum_its_rounds() -> None:
    counts = DraftCounts(rounds=[(5, 2), (5, 5), (1, 0)])
    assert (counts.drafted, counts.accepted, counts.target_forward_passes) == (11, 7, 3)


@pytest.fixture(scope="module")
def tiny_llama() -> transformers.PreTrainedModel:
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=256,
    )
    return transformers.LlamaForCausalLM(config).eval()


def test_counting_drafts_records_every_prompt_lookup_round(tiny_llama: transformers.PreTrainedModel) -> None:
    prompt = torch.tensor([[5, 6, 7, 8, 9] * 6])
    new_tokens = 20
    with counting_drafts(tiny_llama) as counts:
        out = tiny_llama.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            do_sample=False,
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            prompt_lookup_num_tokens=3,
            pad_token_id=0,
        )
    assert out.shape[1] - prompt.shape[1] == new_tokens
    assert counts.drafted > 0
    assert all(accepted <= drafted <= 3 for drafted, accepted in counts.rounds)
    assert counts.accepted + counts.target_forward_passes == new_tokens
    # The wrapper is gone after the block: later calls are plain Transformers again.
    assert "_get_candidate_generator" not in vars(tiny_llama)
