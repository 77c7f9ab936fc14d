"""Every way to hold specbench wrong ends in one line that says what is wrong and how to fix it, exit
code 2, no traceback — and nothing written, because nothing was measured.

The checks run before any engine starts, so most cases use the echo engine; those about models use the
built-in tiny model's directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specbench.cli import main
from specbench.tiny_model import TinyModels


@pytest.fixture
def files(tmp_path: Path, tiny_models: TinyModels) -> dict[str, str]:
    """Bad profiles, datasets and model directories, named by what is wrong with them."""
    made = {
        "bad_yaml": "workload: {rate: [\n",
        "list_profile": "- rate: 3\n",
        "unknown_key": "workload:\n  rats: 3\n",
        "section_not_mapping": "workload: 5\n",
        "list_not_axis": "workload:\n  input_len: [1, 2]\n",
        "bad.jsonl": '{"prompt": "hi"}\nnot json\n',
        "empty.jsonl": "\n\n",
        "no_prompt.jsonl": '{"text": ""}\n',
        "no_human.json": json.dumps([{"conversations": [{"from": "gpt", "value": "hello"}]}]),
        "not_list.json": json.dumps({"conversations": []}),
        "prompts.txt": "a prompt\n",
    }
    paths = {}
    for name, text in made.items():
        path = tmp_path / (name if "." in name else f"{name}.yaml")
        path.write_text(text)
        paths[name.replace(".", "_")] = str(path)
    binary = bytes(range(256)) * 8  # not text: an executable, an archive, an image
    for name in ("binary.dat", "binary.jsonl", "binary.json"):
        (tmp_path / name).write_bytes(binary)
        paths[name.replace(".", "_")] = str(tmp_path / name)
    a_dir = tmp_path / "a_dir"
    a_dir.mkdir()
    no_config = tmp_path / "no_config"
    no_config.mkdir()
    no_vocab = tmp_path / "no_vocab"
    no_vocab.mkdir()
    (no_vocab / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 64}))
    paths.update(
        no_config=str(no_config), no_vocab=str(no_vocab), model=str(tiny_models.target), a_dir=str(a_dir)
    )
    return paths


ECHO = ["run", "--engine", "echo", "--num-prompts", "3"]

# (argv, environment, what the one line must say). {name} is replaced from the `files` fixture.
CASES: list[tuple[list[str], dict[str, str], str]] = [
    # usage errors of the command line itself
    (["run", "--nonsense", "3"], {}, "No such option: --nonsense"),
    (["run", "--rate", "fast"], {}, "--rate 'fast'"),
    (["run", "smoke"], {}, "unexpected extra argument"),
    (["bench"], {}, "No such command 'bench'"),
    (["run", "--num-prompts", "many"], {}, "Invalid value for '--num-prompts'"),
    (["run", "--profile"], {}, "--profile"),
    # values out of range or of the wrong kind
    ([*ECHO, "--rate", "-2"], {}, "greater than 0"),
    ([*ECHO, "--rate", "0"], {}, "greater than 0"),
    ([*ECHO, "--rate", "1,abc"], {}, "--rate '1,abc'"),
    (["run", "--engine", "echo", "--num-prompts", "-1"], {}, "num_prompts"),
    (["run", "--engine", "echo", "--num-prompts", "0"], {}, "needs --duration"),
    ([*ECHO, "--engine", "tgi"], {}, "engine"),
    ([*ECHO, "--method", "beam-search"], {}, "method"),
    ([*ECHO, "--seed", "-5"], {}, "seed (from flag --seed) = -5"),
    ([*ECHO, "--percentiles", "90,abc"], {}, "--percentiles '90,abc'"),
    ([*ECHO, "--percentiles", "100"], {}, "percentiles"),
    ([*ECHO, "--output-len", "many"], {}, "--output-len 'many'"),
    ([*ECHO, "--input-len", "0"], {}, "input_len"),
    ([*ECHO, "--dtype", "fp8"], {}, "unknown dtype 'fp8'"),
    ([*ECHO, "--device", "gpu"], {}, "use auto, cpu, cuda or cuda:N"),
    ([*ECHO, "--burstiness", "0"], {}, "burstiness"),
    ([*ECHO, "--arrival", "uniform"], {}, "arrival"),
    ([*ECHO, "--duration", "0"], {}, "duration"),
    ([*ECHO, "--max-concurrency", "0"], {}, "max_concurrency"),
    ([*ECHO, "--num-speculative-tokens", "0"], {}, "num_speculative_tokens"),
    ([*ECHO, "--ngram-min", "5", "--ngram-max", "2"], {}, "ngram_prompt_lookup_min must not exceed"),
    ([*ECHO, "--gpu-memory-utilization", "1.5"], {}, "gpu_memory_utilization"),
    ([*ECHO, "--batching", "turbo"], {}, "batching"),
    (["run", "--engine", "echo", "--duration", "5"], {}, "needs a finite --rate"),
    # environment variables of the original tool
    (ECHO, {"AUTO_RATE": "fast"}, "AUTO_RATE='fast' is not valid"),
    (ECHO, {"NUM_PROMPTS": "lots"}, "NUM_PROMPTS='lots' is not valid"),
    (["run", "--num-prompts", "3"], {"INFERENCE_ENGINE": "tgi"}, "engine (from env INFERENCE_ENGINE)"),
    (ECHO, {"VLLM_DISABLE_LOG_STATS": "maybe"}, "VLLM_DISABLE_LOG_STATS='maybe' is not valid"),
    (ECHO, {"ENABLE_BATCH": "perhaps"}, "ENABLE_BATCH='perhaps' is not valid"),
    # profiles
    ([*ECHO, "--profile", "nope"], {}, "unknown profile 'nope'"),
    ([*ECHO, "--profile", "/no/such/profile.yaml"], {}, "does not exist"),
    ([*ECHO, "--profile", "{bad_yaml}"], {}, "is not valid YAML at line 2"),
    ([*ECHO, "--profile", "{list_profile}"], {}, "must be a YAML mapping"),
    ([*ECHO, "--profile", "{unknown_key}"], {}, "unknown setting workload.rats"),
    ([*ECHO, "--profile", "{section_not_mapping}"], {}, "workload"),
    (
        [*ECHO, "--profile", "{list_not_axis}"],
        {},
        "workload.input_len (from profile list_not_axis) takes one",
    ),
    # datasets
    ([*ECHO, "--dataset", "/no/such.jsonl"], {}, "not found"),
    ([*ECHO, "--dataset", "{bad_jsonl}"], {}, ":2: not valid JSON"),
    ([*ECHO, "--dataset", "{empty_jsonl}"], {}, "holds no prompts"),
    ([*ECHO, "--dataset", "{no_prompt_jsonl}"], {}, 'needs a non-empty "prompt"'),
    ([*ECHO, "--dataset", "{no_human_json}"], {}, "no conversation has a human turn"),
    ([*ECHO, "--dataset", "{not_list_json}"], {}, "expected a JSON list"),
    ([*ECHO, "--dataset", "{prompts_txt}"], {}, "--dataset-format jsonl or sharegpt"),
    ([*ECHO, "--dataset-format", "sharegpt"], {}, "needs a file"),
    ([*ECHO, "--dataset", "random", "--output-len", "dataset"], {}, "no output lengths"),
    # model directories
    (["run", "--model", "/no/such/dir"], {}, "--model /no/such/dir: no such directory"),
    (["run", "--model", "{no_config}"], {}, "no config.json inside"),
    (["run", "--model", "{no_vocab}", "--dummy-weights"], {}, "has no vocab_size"),
    (["run", "--method", "speculative", "--model", "{model}"], {}, "needs a draft model"),
    ([*ECHO, "--draft-model", "/no/such/draft"], {}, "--draft-model /no/such/draft: no such directory"),
    ([*ECHO, "--tokenizer", "/no/such/tok"], {}, "--tokenizer /no/such/tok: no such directory"),
    (["run", "--model", "{model}", "--input-len", "100000"], {}, "max_position_embeddings"),
    (["run", "--engine", "vllm", "--model", "{model}", "--max-model-len", "64"], {}, "--max-model-len is 64"),
    (["run", "--engine", "echo,echo", "--num-prompts", "3"], {}, "lists echo twice: give each value once"),
    ([*ECHO, "--rate", "1,2,1"], {}, "lists 1 twice"),
    (ECHO, {"SPECBENCH_EVENT_LOOP": "bogus"}, "SPECBENCH_EVENT_LOOP='bogus' is not valid: use auto"),
    (
        ["run", "--num-prompts", "3"],
        {"SPECBENCH_CACHE": "{prompts_txt}"},
        "point SPECBENCH_CACHE at a directory",
    ),
    # sizes that would exhaust memory or overflow: refused up front with an estimate
    (["run", "--engine", "echo", "--num-prompts", "100000000000"], {}, "this workload needs ~"),
    (["run", "--engine", "echo", "--num-prompts", "0", "--rate", "5", "--duration", "inf"], {}, "finite"),
    (
        ["run", "--engine", "echo", "--num-prompts", "0", "--rate", "5", "--duration", "1e12"],
        {},
        "GiB available",
    ),
    (["run", "--engine", "echo", "--num-prompts", "0", "--rate", "1e9", "--duration", "5"], {}, "needs ~"),
    # directories and binary files where a text file belongs
    ([*ECHO, "--profile", "{a_dir}"], {}, "is a directory: pass a YAML file in it, or a profile name"),
    ([*ECHO, "--dataset", "{a_dir}"], {}, "is a directory: pass a JSONL file of prompts, a ShareGPT"),
    ([*ECHO, "--dataset", "{binary_dat}"], {}, "is not a text file: pass a JSONL file"),
    ([*ECHO, "--dataset", "{binary_jsonl}"], {}, "is not a text file (it is not UTF-8)"),
    (["compare", "{binary_json}", "{binary_json}"], {}, "is not a text file (binary data at byte 128)"),
    (["plot", "{binary_json}"], {}, "is not a text file (binary data at byte 128)"),
    # an engine that cannot start leaves no empty results/ behind
    (
        ["run", "--engine", "openai", "--base-url", "http://127.0.0.1:9/v1", "--tokenizer", "{model}"],
        {},
        "cannot reach the server at http://127.0.0.1:9/v1",
    ),
    # where results go
    ([*ECHO, "--output", "."], {}, "is a directory"),
    ([*ECHO, "--output-dir", "/proc/specbench"], {}, "cannot write results to /proc/specbench"),
    (
        [*ECHO, "--output", "/proc/version"],
        {},
        "refuses new files in /proc (No such file or directory); pass another --output",
    ),
    ([*ECHO, "--output-dir", "{prompts_txt}/results"], {}, "prompts.txt is a file, not a directory"),
    ([*ECHO, "--rate", "1,2", "--output", "x.json"], {}, "pass --output-dir DIR instead of --output"),
]


@pytest.mark.parametrize(
    ("argv", "environ", "message"), CASES, ids=[" ".join(c[0][1:]) or c[0][0] for c in CASES]
)
def test_bad_invocation_is_one_line_and_exit_2_and_writes_nothing(
    argv, environ, message, files, tmp_path: Path, capsys, monkeypatch
):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for name, value in environ.items():
        monkeypatch.setenv(name, value.format(**files))
    assert main([arg.format(**files) for arg in argv]) == 2
    out, err = capsys.readouterr()
    assert message in err, err
    assert "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1, err
    assert list(work.iterdir()) == []


def test_the_table_covers_at_least_forty_bad_invocations():
    assert len(CASES) >= 40


def test_bare_specbench_prints_help_and_exits_0(capsys):
    assert main([]) == 0
    assert "Commands" in capsys.readouterr().out


def test_user_text_in_errors_is_not_read_as_markup(capsys):
    # Rich would swallow "[vllm]" as a style tag; the user must see the install command whole.
    assert main(["run", "--engine", "echo", "--profile", "[vllm]"]) == 2
    assert "'[vllm]'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trace", "/nonexistent/trace.jsonl"], "trace file /nonexistent/trace.jsonl not found"),
        (["--prefix-groups", "2", "--prefix-len", "200", "--input-len", "100"], "leaves no unique suffix"),
        (["--trace", "t.jsonl", "--trace-window", "5-9"], "give START:END seconds"),
        (["--ramp", "linear", "--ramp-to", "5", "--rate", "1"], "pass --duration"),
        (["--turns", "2", "--prefix-groups", "2", "--prefix-len", "4"], "pick one"),
        (["--trace", "t.jsonl", "--sweep", "2"], "list rates instead"),
    ],
)
def test_bad_workload_kinds_are_one_line(args: list[str], message: str, tmp_path: Path, capsys) -> None:
    assert main([*ECHO, *args, "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in " ".join(err.split()) and "Traceback" not in err
    assert not (tmp_path / "out").exists()
