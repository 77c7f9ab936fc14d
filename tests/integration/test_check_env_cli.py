"""`specbench check-env` for real: on this machine, and on a bare install (no torch, transformers, vLLM or
nvidia-ml-py), through the CLI."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from specbench.cli import main

ROOT = Path(__file__).resolve().parents[2]
HIDDEN = ("torch", "transformers", "vllm", "pynvml", "psutil")


def run_in_subprocess(args: list[str], hide: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh interpreter, with `hide`'s packages made unimportable as on a bare install."""
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        for name in {hide!r}:
            sys.modules[name] = None  # import fails, find_spec says not installed
        from specbench.cli import main
        sys.exit(main({args!r}))
        """
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_check_env_on_this_machine_prints_json_verdicts(tmp_path: Path, capsys):
    code = main(["check-env", "--json", "--engine", "transformers", "--output-dir", str(tmp_path)])
    report = json.loads(capsys.readouterr().out)
    checks = {check["name"]: check for check in report["checks"]}
    assert report["engine"] == "transformers"
    assert list(checks) == [
        "Python",
        "torch",
        "GPUs",
        "NVIDIA driver",
        "NVML",
        "transformers",
        "vLLM",
        "disk",
        "memory",
        "output directory",
    ]
    assert all(check.keys() == {"name", "status", "detail", "hint"} for check in report["checks"])
    assert checks["output directory"]["status"] == "pass"
    failed = [name for name, check in checks.items() if check["status"] == "fail"]
    assert code == (1 if failed else 0)


def test_check_env_with_the_tiny_model_counts_it_and_fits_it(tiny_models, tmp_path: Path, capsys):
    code = main(["check-env", "--json", "--model", str(tiny_models.target), "--output-dir", str(tmp_path)])
    checks = {check["name"]: check for check in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["model config"]["status"] == "pass" and "4 layers" in checks["model config"]["detail"]
    assert checks["parameters"]["status"] == "pass"
    assert checks["memory fit"]["status"] == "pass"
    assert code == 0 or any(check["status"] == "fail" for check in checks.values())


def test_check_env_table_names_the_engine_and_ends_with_a_verdict(tmp_path: Path, capsys):
    main(["check-env", "--engine", "echo", "--output-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "check-env · engine echo" in out and "Ready for the echo engine." in out


def test_a_bare_install_runs_and_says_what_to_install(tmp_path: Path):
    done = run_in_subprocess(["check-env", "--json", "--output-dir", str(tmp_path)], hide=HIDDEN)
    assert done.returncode == 1, done.stderr  # the default engine, transformers, needs torch
    checks = {check["name"]: check for check in json.loads(done.stdout)["checks"]}
    assert checks["torch"]["status"] == "fail"
    assert checks["torch"]["hint"] == 'pip install "specbench[transformers]"'
    assert checks["NVML"]["hint"] == 'pip install "specbench[gpu]"'
    assert checks["vLLM"]["status"] == "warn"
    echo = run_in_subprocess(
        ["check-env", "--json", "--engine", "echo", "--output-dir", str(tmp_path)], HIDDEN
    )
    assert echo.returncode == 0, echo.stdout


def test_importing_the_cli_and_checks_imports_neither_torch_nor_vllm():
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); import specbench.cli, specbench.checks, "
        "specbench.telemetry; print(sorted({'torch', 'vllm', 'transformers', 'pynvml'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stderr


def test_two_engines_at_once_are_refused_with_one_line(monkeypatch, capsys):
    monkeypatch.setenv("INFERENCE_ENGINE", "transformers,vllm")
    assert main(["check-env"]) == 2
    expected = "error: check-env checks one engine at a time: pass a single --engine"
    assert capsys.readouterr().err.strip() == expected
