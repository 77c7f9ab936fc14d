"""The checks every run makes on its output-token counts, and compare's warning when two results counted
tokens differently."""

from __future__ import annotations

from pathlib import Path

from specbench.compare import compare_runs
from specbench.metrics.token_counts import TOKENIZER, check_token_counts
from specbench.records import RequestRecord
from specbench.results.readers import LoadedRun
from tests.results_factory import make_result


def record(
    output_tokens: int, chunks: list[int], *, finish: str = "length", limit: int = 32
) -> RequestRecord:
    return RequestRecord(
        request_id=0,
        scheduled_s=0.0,
        ready_s=0.0,
        sent_s=0.0,
        prompt_tokens=32,
        expected_output_tokens=limit,
        chunk_times_s=[0.1 * (i + 1) for i in range(len(chunks))],
        chunk_tokens=chunks,
        end_s=0.1 * len(chunks),
        output_tokens=output_tokens,
        finish_reason=finish,
    )


def test_exact_counts_pass_both_checks() -> None:
    check = check_token_counts([record(32, [1] * 32), record(32, [4] * 8)])
    assert (check.checked, check.at_length, check.wrong_at_length, check.chunks_disagree) == (2, 2, 0, 0)
    assert check.warnings() == []


def test_a_request_ended_by_its_length_limit_must_have_counted_its_max_tokens() -> None:
    check = check_token_counts([record(51, [51]), record(32, [32]), record(20, [20], finish="stop")])
    assert (check.at_length, check.wrong_at_length, check.example) == (2, 1, (51, 32))
    (warning,) = check.warnings()
    assert (
        warning.startswith("1 of 2 requests that ended at their length limit")
        and "(e.g. 51 for 32)" in warning
    )


def test_per_chunk_counts_that_do_not_add_up_to_the_total_are_counted_and_warned() -> None:
    check = check_token_counts([record(32, [2] * 20), record(32, [1] * 32), record(32, [1] * 30)])
    assert check.chunks_disagree == 2 and check.wrong_at_length == 0
    assert check.as_dict()["chunk_sum_disagrees_with_total"] == 2
    (warning,) = check.warnings()
    assert warning.startswith("2 of 3 requests: the tokens counted chunk by chunk do not add up")


def test_failed_requests_are_not_checked() -> None:
    failed = record(5, [5])
    failed.error = "StreamCut: cut"
    assert check_token_counts([failed]).checked == 0


def served(token_totals: str | None, **settings: str):
    result = make_result(engine="openai")
    result.engine.settings = {**settings, **({"token_totals": token_totals} if token_totals else {})}
    return result


def compared_warnings(*results) -> tuple[str, ...]:
    runs = [LoadedRun(Path(f"r{i}.json"), result) for i, result in enumerate(results)]
    return compare_runs(runs).warnings


def test_compare_warns_when_one_result_counted_tokens_by_re_tokenizing_text() -> None:
    warnings = compared_warnings(make_result(engine="vllm"), served(TOKENIZER))
    assert warnings == (
        "different token counts: exact counts (vllm · target-ar) vs re-tokenized text counts "
        "(openai · target-ar)",
    )


def test_server_usage_and_an_engines_own_counts_are_both_exact() -> None:
    assert compared_warnings(make_result(engine="vllm"), served("server usage")) == ()


def test_an_older_result_that_said_tokenizer_only_in_words_is_read_as_re_tokenized() -> None:
    older = served(None, token_counts="tokenizer (the server reports no usage)")
    assert any("different token counts" in w for w in compared_warnings(make_result(engine="vllm"), older))
