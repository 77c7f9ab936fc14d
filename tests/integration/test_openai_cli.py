"""`specbench run --engine openai` through the real CLI against the instant test server: the result file,
one-line errors, and an API key that shows up nowhere (result, per-request records, engine log, screen,
error lines, --dry-run)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from specbench.cli import main
from tests.fixtures.instant_server import Behaviour, InstantServer

SECRET = "sk-live-0123456789abcdef-never-shown"
KEY_VAR = "SPECBENCH_TEST_API_KEY"


@pytest.fixture
def server() -> Iterator[InstantServer]:
    with InstantServer.in_thread(Behaviour(api_key=SECRET, echo_key_in_errors=True, tokens_per_chunk=2)) as s:
        yield s


def run_cli(server_url: str, tokenizer: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "run",
            "--engine",
            "openai",
            "--base-url",
            server_url,
            "--api-key-env",
            KEY_VAR,
            "--tokenizer",
            str(tokenizer),
            "--num-prompts",
            "12",
            "--rate",
            "200",
            "--input-len",
            "16",
            "--output-len",
            "6",
            "--output-dir",
            str(out),
            *extra,
        ]
    )


def everything_written(out: Path) -> str:
    return "\n".join(path.read_text(errors="replace") for path in sorted(out.rglob("*")) if path.is_file())


def test_a_served_run_writes_a_full_result_and_the_key_is_nowhere(
    server, tiny_models, tmp_path, monkeypatch, capfd
) -> None:
    monkeypatch.setenv(KEY_VAR, SECRET)
    out = tmp_path / "out"
    assert run_cli(server.base_url, tiny_models.target, out) == 0
    screen = capfd.readouterr()
    result = json.loads((out / "benchmark_results_target_ar_openai.json").read_text())
    assert result["engine"]["name"] == "openai"
    assert result["engine"]["settings"]["api_key"] == f"from ${KEY_VAR}"
    assert result["completed"] == 12 and result["failed"] == 0
    assert result["total_output_tokens"] == 12 * 6
    assert result["engine_generation_tokens"] == 12 * 6  # the server's /metrics, measured window only
    assert result["config"]["openai"]["api_key_env"] == KEY_VAR
    assert (out / "benchmark_results_target_ar_openai_requests.jsonl").is_file()
    for text in (everything_written(out), screen.out, screen.err):
        assert SECRET not in text


def test_dry_run_shows_the_variable_name_not_the_key(tiny_models, tmp_path, monkeypatch, capfd) -> None:
    monkeypatch.setenv(KEY_VAR, SECRET)
    assert run_cli("http://127.0.0.1:9/v1", tiny_models.target, tmp_path, "--dry-run") == 0
    screen = capfd.readouterr()
    assert KEY_VAR in screen.out and SECRET not in screen.out + screen.err


def test_a_key_the_server_refuses_and_quotes_back_is_an_error_line_without_it(
    server, tiny_models, tmp_path, monkeypatch, capfd
) -> None:
    monkeypatch.setenv(KEY_VAR, SECRET + "-but-wrong")
    out = tmp_path / "out"
    assert run_cli(server.base_url, tiny_models.target, out) == 2
    screen = capfd.readouterr()
    error_lines = [line for line in screen.err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "HTTP 401" in error_lines[0]
    for text in (screen.out, screen.err, everything_written(out) if out.exists() else ""):
        assert SECRET not in text


def test_request_errors_quoting_the_key_are_recorded_without_it(
    server, tiny_models, tmp_path, monkeypatch, capfd
) -> None:
    monkeypatch.setenv(KEY_VAR, SECRET)
    server.behaviour.fail_status, server.behaviour.fail_after = 429, 1  # the probe passes, the rest fail
    server.behaviour.fail_message = f"rate limit reached for key {SECRET}"
    out = tmp_path / "out"
    run_cli(server.base_url, tiny_models.target, out, "--warmup", "0")
    screen = capfd.readouterr()
    records = (out / "benchmark_results_target_ar_openai_requests.jsonl").read_text().splitlines()
    errors = {json.loads(line)["error"] for line in records}
    assert errors == {"StatusError: HTTP 429: rate limit reached for key ***"}
    for text in (everything_written(out), screen.out, screen.err):
        assert SECRET not in text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_server_is_one_error_line_before_anything_is_measured(
    tiny_models, tmp_path, monkeypatch, capfd
) -> None:
    monkeypatch.setenv(KEY_VAR, SECRET)
    url = f"http://127.0.0.1:{free_port()}/v1"
    out = tmp_path / "out"
    assert run_cli(url, tiny_models.target, out) == 2
    screen = capfd.readouterr()
    error_lines = [line for line in screen.err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert error_lines[0].startswith(f"error: cannot reach the server at {url}: cannot connect to 127.0.0.1:")
    assert error_lines[0].endswith(
        "Connection refused; start it (e.g. vllm serve MODEL) or pass --base-url http://HOST:PORT/v1"
    )
    assert not list(out.glob("*.json"))


def test_without_a_tokenizer_the_openai_engine_is_one_error_line(tmp_path, capfd) -> None:
    code = main(["run", "--engine", "openai", "--output-dir", str(tmp_path), "--num-prompts", "2"])
    assert code == 2
    err = capfd.readouterr().err
    assert "needs that model's tokenizer: pass --tokenizer DIR" in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1
