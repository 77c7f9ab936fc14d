"""A key-shaped secret, wherever a user might put it — a flag, the URL's userinfo or query, a profile file,
the environment — never appears on stdout, on stderr, in the result, the records or the engine log.

Where it does not belong (a flag, a URL, a profile) the run is refused in one line that says what kind of
thing was given, not the thing; where it belongs (the variable named by --api-key-env) it is only sent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specbench.cli import main
from tests.fixtures.instant_server import Behaviour, InstantServer

SECRETS = {
    "dashes": "sk-proj-4fZq9Xk2LmN8pQr7StUvWx3Y",
    "underscores": "sk_live_51HxQ2eKd93mVbN7pLcRt0",  # also a valid variable name
    "bare": "a8F3kL9mQ2xZ7vB4nW1cR6tY0uI5oP",
}
OPENAI = ["run", "--engine", "openai", "--num-prompts", "2", "--input-len", "8", "--output-len", "4"]


def _places(secret: str, tmp_path: Path) -> dict[str, list[str]]:
    profile = tmp_path / "p.yaml"
    profile.write_text(f"openai:\n  api_key_env: {secret}\n")
    url_profile = tmp_path / "u.yaml"
    url_profile.write_text(f"openai:\n  base_url: http://127.0.0.1:9/v1?key={secret}\n")
    return {
        "--api-key-env": ["--api-key-env", secret],
        "URL userinfo": ["--base-url", f"http://user:{secret}@127.0.0.1:9/v1"],
        "URL key only": ["--base-url", f"http://{secret}@127.0.0.1:9/v1"],
        "URL query": ["--base-url", f"http://127.0.0.1:9/v1?api_key={secret}"],
        "metrics URL query": ["--metrics-url", f"http://127.0.0.1:9/metrics?token={secret}"],
        "profile api_key_env": ["--profile", str(profile)],
        "profile base_url": ["--profile", str(url_profile)],
    }


# Every shape of key where a variable's name belongs; one shape in each URL (the URL check is shape-blind).
CASES = [
    *((place, shape) for place in ("--api-key-env", "profile api_key_env") for shape in SECRETS),
    *(
        (place, "dashes")
        for place in ("URL userinfo", "URL key only", "URL query", "metrics URL query", "profile base_url")
    ),
]


@pytest.mark.parametrize(("place", "shape"), CASES, ids=[f"{place}-{shape}" for place, shape in CASES])
@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
def test_a_secret_where_it_does_not_belong_is_refused_unseen(
    place, shape, dry_run, tiny_models, tmp_path, monkeypatch, capfd
):
    secret = SECRETS[shape]
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    argv = [*OPENAI, "--tokenizer", str(tiny_models.target), *_places(secret, tmp_path)[place]]
    assert main([*argv, *(["--dry-run"] if dry_run else [])]) == 2
    out, err = capfd.readouterr()
    assert secret not in out + err
    assert len(err.strip().splitlines()) == 1, err
    assert "api_key_env" in err.replace("-", "_")  # says where the key belongs
    assert list(work.iterdir()) == []


def test_the_key_in_its_variable_is_sent_and_written_nowhere(tiny_models, tmp_path, monkeypatch, capfd):
    secret = SECRETS["dashes"]
    monkeypatch.setenv("SPECBENCH_SECRET_TEST_KEY", secret)
    out_dir = tmp_path / "out"
    behaviour = Behaviour(api_key=secret, echo_key_in_errors=True)
    with InstantServer.in_thread(behaviour) as server:
        code = main(
            [
                *OPENAI,
                "--tokenizer",
                str(tiny_models.target),
                "--base-url",
                server.base_url,
                "--api-key-env",
                "SPECBENCH_SECRET_TEST_KEY",
                "--output-dir",
                str(out_dir),
            ]
        )
    assert code == 0
    screen = capfd.readouterr()
    written = {path.name: path.read_text(errors="replace") for path in out_dir.rglob("*") if path.is_file()}
    assert any(name.endswith("_requests.jsonl") for name in written)
    result = json.loads(next(text for name, text in written.items() if name.endswith("openai.json")))
    assert result["completed"] == 2  # the key was sent: the server answers only with it
    for text in (*written.values(), screen.out, screen.err):
        assert secret not in text
