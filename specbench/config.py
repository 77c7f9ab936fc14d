"""The validated configuration of one benchmark run.

Every option is declared once, here, with its type, bounds and description; the CLI, profiles and
environment variables all feed this model (see settings.py for how they are layered).
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class EngineName(StrEnum):
    transformers = "transformers"
    vllm = "vllm"
    echo = "echo"
    openai = "openai"


class Method(StrEnum):
    target_ar = "target-ar"
    draft_ar = "draft-ar"
    speculative = "speculative"
    prompt_lookup = "prompt-lookup"


DEFAULT_NUM_PROMPTS = 100
# The sections of RunConfig that belong to one engine each; the others' settings do not apply to it.
ENGINE_SECTIONS = tuple(name.value for name in EngineName)
# What --api-key-env accepts: the NAME of a variable, so a key typed there by mistake is refused unseen.
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# Keys that are also valid variable names (sk_live_…, hf_…, ghp_…): the prefixes of common API keys, or a
# long run of letters mixed with digits that no one would name a variable.
_KEY_PREFIX = re.compile(r"((sk|pk|rk|hf|ghp|gho|ghu|ghs|ghr|glpat|xox[abprs])_|github_pat_|AKIA)\w{12}")
_KEY_RUN = re.compile(r"(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{20,}")


def looks_like_a_key(text: str) -> bool:
    """A value shaped like an API key or token rather than like the name of a variable."""
    return bool(_KEY_PREFIX.match(text) or _KEY_RUN.search(text))


def parse_trace_window(text: str) -> tuple[float | None, float | None]:
    """'60:120' → (60.0, 120.0); '60:' → (60.0, None); ':120' → (None, 120.0)."""
    start, sep, end = text.partition(":")
    try:
        window = (float(start) if start.strip() else None, float(end) if end.strip() else None)
    except ValueError:
        window = (math.nan, math.nan)
    low, high = window
    if (
        not sep
        or any(v is not None and not (math.isfinite(v) and v >= 0) for v in window)
        or (low is not None and high is not None and high <= low)
    ):
        raise ValueError(f"give START:END seconds of the trace, e.g. 60:120, not {text!r}")
    return window


class UnshownValueError(ValueError):
    """A bad value that error messages must not repeat: it may be a secret typed in the wrong place."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class WorkloadConfig(_Section):
    dataset: str = Field(
        "random",
        description="'random' for synthetic prompts, or a path to a JSONL file of prompts (MT-bench / "
        "Spec-Bench question files too) or a ShareGPT-format JSON file; a .parquet / .arrow file or "
        "hf:NAME[:CONFIG][:SPLIT] reads a Hugging Face dataset (the `datasets` extra).",
    )
    dataset_format: Literal["auto", "random", "jsonl", "sharegpt", "hf"] = Field(
        "auto", description="How to read --dataset; 'auto' decides from the file."
    )
    prompt_field: str | None = Field(
        None,
        description="Field holding each prompt (a string, or a list of turns whose first is the prompt); "
        "unset = prompt, text or turns.",
    )
    category_field: str | None = Field(
        None, description="Field holding each prompt's category (per-category figures); unset = category."
    )
    chat_template: Literal["auto", "none"] = Field(
        "auto",
        description="Questions (turns, --prompt-field, Hugging Face rows) go through the tokenizer's chat "
        "template where it has one (auto), or are sent as written (none).",
    )
    num_prompts: int | None = Field(
        None,
        ge=0,
        description=f"Measured requests (default {DEFAULT_NUM_PROMPTS}). 0 with --duration = rate mode: "
        "send for --duration seconds. With both, --duration caps the sending time.",
    )
    rate: float = Field(math.inf, gt=0, description="Requests per second; 'inf' sends every request at once.")
    duration: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Rate mode: send requests for this many seconds."
    )
    arrival: Literal["poisson", "constant"] = Field(
        "poisson", description="Gaps between requests: Poisson (gamma with --burstiness) or constant."
    )
    burstiness: float = Field(
        1.0,
        gt=0,
        description="Gamma shape of the gaps, as in vLLM: 1.0 = Poisson, <1 burstier, >1 more regular.",
    )
    max_concurrency: int | None = Field(
        None, ge=1, description="At most this many requests in flight; later ones wait in the client."
    )
    input_len: int = Field(128, ge=1, description="Prompt length in tokens (synthetic prompts).")
    output_len: int | None = Field(
        128,
        ge=1,
        description="Output tokens per request, EOS ignored; 'dataset' (unset in a profile: null) takes "
        "each request's length from the dataset.",
    )
    warmup: int = Field(2, ge=0, description="Warm-up requests sent first and excluded from results.")
    prompts_per_concurrency: int | None = Field(
        None,
        ge=1,
        description="With --max-concurrency: measure this many requests per slot (N × concurrency) instead "
        "of --num-prompts, so every point of a concurrency list runs about as many waves.",
    )
    # Workloads of real services (docs/WORKLOADS.md).
    prefix_groups: int | None = Field(
        None,
        ge=1,
        description="Shared prefixes: synthetic prompts drawn from this many groups, each group's prompts "
        "starting with the same --prefix-len tokens (then a unique suffix).",
    )
    prefix_len: int = Field(0, ge=0, description="Shared prefixes: tokens every prompt of a group shares.")
    trace: str | None = Field(
        None,
        description="Trace replay: send requests at this file's timestamps with its lengths (Mooncake "
        "JSONL, Azure LLM inference CSV, or JSONL with timestamp_s, input_len, output_len).",
    )
    trace_format: Literal["auto", "mooncake", "azure", "jsonl"] = Field(
        "auto", description="Trace replay: how to read --trace; 'auto' decides from the file."
    )
    trace_speed: float = Field(
        1.0, gt=0, description="Trace replay: play the trace this many times faster (2 = twice the rate)."
    )
    trace_window: str | None = Field(
        None,
        description="Trace replay: only the requests between START:END seconds of the trace (either "
        "side may be left empty), shifted to start at 0.",
    )
    ramp: Literal["none", "linear", "exponential"] = Field(
        "none",
        description="Rate ramp: the rate rises linearly or exponentially from --rate to --ramp-to over "
        "--duration.",
    )
    ramp_to: float | None = Field(None, gt=0, description="Rate ramp: the rate at the end of --duration.")
    window_s: float = Field(
        10.0,
        gt=0,
        description="Seconds per time window of the per-window figures (sent rate, throughput, "
        "TTFT and TPOT percentiles).",
    )
    turns: int = Field(
        1,
        ge=1,
        description="Conversations: turns per session (synthetic, or at most this many of a dataset's "
        "conversation); each turn is sent after the previous answer plus a think time, with the history.",
    )
    turn_input_len: int | None = Field(
        None, ge=1, description="Conversations: new tokens per later turn (synthetic); unset = --input-len."
    )
    think_time_s: float = Field(
        0.0, ge=0, description="Conversations: mean seconds between an answer and the next turn."
    )
    think_distribution: Literal["exponential", "constant"] = Field(
        "exponential", description="Conversations: how think times are drawn (seeded)."
    )

    @field_validator("trace_window")
    @classmethod
    def _trace_window(cls, value: str | None) -> str | None:
        if value is not None:
            parse_trace_window(value)
        return value

    @model_validator(mode="after")
    def _one_workload_kind(self) -> WorkloadConfig:
        kinds = [
            flag
            for flag, active in (
                ("--prefix-groups", self.prefix_groups is not None),
                ("--trace", self.trace is not None),
                ("--turns", self.turns > 1),
            )
            if active
        ]
        if len(kinds) > 1:
            raise ValueError(f"{' and '.join(kinds)} are different workloads: pick one")
        if self.prefix_groups is not None and self.prefix_len >= self.input_len:
            raise ValueError(
                f"--prefix-len {self.prefix_len} leaves no unique suffix in --input-len {self.input_len}: "
                "make the prefix shorter than the prompt"
            )
        if self.prefix_groups is None and self.prefix_len:
            raise ValueError("--prefix-len needs --prefix-groups G (how many prefixes the prompts share)")
        if (self.ramp == "none") != (self.ramp_to is None):
            raise ValueError("a rate ramp needs both --ramp linear|exponential and --ramp-to R")
        if self.ramp != "none" and self.duration is None:
            raise ValueError("a rate ramp rises over --duration S: pass --duration")
        if self.ramp != "none" and self.trace is not None:
            raise ValueError("--trace sends at the trace's own timestamps: drop --ramp")
        return self

    @property
    def shares_prefixes(self) -> bool:
        """The workload's prompts may share prefixes on purpose (prefix groups, a trace's shared blocks,
        a conversation's history), so prefix-cache hits are what it measures, not a leak between points.
        Any trace counts here; the built Workload.shares_prefixes says whether this trace's blocks repeat."""
        return self.prefix_groups is not None or self.trace is not None or self.turns > 1

    @model_validator(mode="after")
    def _rate_mode_needs_duration(self) -> WorkloadConfig:
        if self.num_prompts == 0 and self.duration is None:
            raise ValueError("--num-prompts 0 means rate mode, which needs --duration S (or give a count)")
        return self

    @model_validator(mode="after")
    def _per_slot_needs_slots(self) -> WorkloadConfig:
        if self.prompts_per_concurrency is not None and self.max_concurrency is None:
            raise ValueError("--prompts-per-concurrency counts requests per --max-concurrency slot: set both")
        return self

    @property
    def num_requests(self) -> int | None:
        """Measured requests in count mode; None in rate mode (send until --duration elapses)."""
        if self.prompts_per_concurrency is not None and self.max_concurrency is not None:
            return self.prompts_per_concurrency * self.max_concurrency
        if self.num_prompts:
            return self.num_prompts
        return DEFAULT_NUM_PROMPTS if self.duration is None else None


class SpeculativeConfig(_Section):
    spec_method: Literal["draft_model", "ngram", "eagle", "eagle3"] = Field(
        "draft_model", description="How drafts are proposed (vLLM); Transformers uses draft_model."
    )
    num_speculative_tokens: int = Field(
        5,
        ge=1,
        le=64,
        description="Draft tokens per step (K); several (1,2,3,5) are an axis of the plan, an engine "
        "session each.",
    )
    draft_schedule: Literal["constant", "heuristic"] = Field(
        "constant",
        description="Transformers: keep K fixed, or let it grow/shrink with acceptance (its 'heuristic').",
    )
    ngram_prompt_lookup_min: int = Field(1, ge=1, description="Smallest n-gram matched (ngram).")
    ngram_prompt_lookup_max: int = Field(4, ge=1, description="Largest n-gram matched (ngram).")
    synthetic_acceptance_length: float | None = Field(
        None,
        description="vLLM (GPU) and echo: accept drafts at random so the mean acceptance length is this, in "
        "[1, K+1], whatever the weights (vLLM's synthetic rejection sampling); acceptance figures are then "
        "synthetic. Several values (1.5,2.5,3.5) are an axis of the plan.",
    )
    synthetic_acceptance_rates: list[float] | None = Field(
        None,
        description="vLLM (GPU) and echo: per-position unconditional acceptance rates instead of a length, "
        "K of them, non-increasing, each in [0, 1] (e.g. 0.8,0.6,0.4).",
    )

    @model_validator(mode="after")
    def _ngram_window(self) -> SpeculativeConfig:
        if self.ngram_prompt_lookup_min > self.ngram_prompt_lookup_max:
            raise ValueError("ngram_prompt_lookup_min must not exceed ngram_prompt_lookup_max")
        return self

    @model_validator(mode="after")
    def _synthetic_acceptance(self) -> SpeculativeConfig:
        # vLLM's own rules (SpeculativeConfig._resolve_synthetic_acceptance_rates), checked before it starts.
        length, rates, k = (
            self.synthetic_acceptance_length,
            self.synthetic_acceptance_rates,
            self.num_speculative_tokens,
        )
        if length is not None and rates is not None:
            raise ValueError("give --synthetic-acceptance or --synthetic-acceptance-rates, not both")
        if length is not None and not 1 <= length <= k + 1:
            raise ValueError(
                f"synthetic acceptance length {length:g} is outside [1, K+1] = [1, {k + 1}] for K = {k}: "
                "lower it or raise --num-speculative-tokens"
            )
        if rates is not None:
            if len(rates) != k:
                raise ValueError(
                    f"--synthetic-acceptance-rates gives {len(rates)} rates for K = {k} draft positions: "
                    "give one per position"
                )
            if any(not 0 <= r <= 1 for r in rates):
                raise ValueError("synthetic acceptance rates must each lie in [0, 1]")
            if any(b > a for a, b in pairwise(rates)):
                raise ValueError(
                    "synthetic acceptance rates must be non-increasing (position i+1 cannot be accepted "
                    "without position i)"
                )
        return self

    @property
    def synthetic(self) -> bool:
        return self.synthetic_acceptance_length is not None or self.synthetic_acceptance_rates is not None

    def synthetic_rates(self) -> list[float] | None:
        """Per-position unconditional acceptance rates, a length turned into rates as vLLM does
        (minimum variance: whole positions always accepted, then one partial)."""
        if self.synthetic_acceptance_rates is not None:
            return list(self.synthetic_acceptance_rates)
        if self.synthetic_acceptance_length is None:
            return None
        k, drafts = self.num_speculative_tokens, self.synthetic_acceptance_length - 1
        full = int(drafts)
        return ([1.0] * full + [drafts - full] + [0.0] * k)[:k]


class TransformersConfig(_Section):
    batching: Literal["serial", "dynamic", "continuous"] = Field(
        "serial",
        description="serial: one request at a time; dynamic: batch waiting requests; continuous: "
        "Transformers' own continuous batching.",
    )
    max_batch_size: int = Field(8, ge=1, description="dynamic/continuous: largest batch.")
    max_wait_ms: float = Field(
        5.0, ge=0, description="dynamic: how long to wait for more requests before a batch starts."
    )
    compile: bool = Field(False, description="Static KV cache + torch.compile; warm-up absorbs compiling.")
    attn_implementation: str | None = Field(None, description="e.g. sdpa, eager, flash_attention_2.")


class VllmConfig(_Section):
    tensor_parallel_size: int | None = Field(
        None, ge=1, description="GPUs per model replica; unset = every visible GPU (1 on CPU)."
    )
    pipeline_parallel_size: int = Field(1, ge=1, description="Pipeline stages.")
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1, description="Fraction of GPU memory vLLM may use.")
    max_model_len: int | None = Field(None, ge=1, description="Context length; unset = the model's.")
    max_num_seqs: int | None = Field(None, ge=1, description="Most sequences in one batch.")
    max_num_batched_tokens: int | None = Field(None, ge=1, description="Most tokens in one step.")
    dtype: str | None = Field(None, description="Overrides the run's dtype for vLLM (VLLM_DTYPE).")
    enable_prefix_caching: bool | None = Field(None, description="Unset = vLLM's default.")
    enforce_eager: bool = Field(False, description="Skip CUDA graphs / compilation.")
    distributed_executor_backend: Literal["mp", "ray", "uni"] | None = Field(
        None, description="mp (one host) or ray (an existing Ray cluster, several nodes)."
    )
    disable_log_stats: bool = Field(
        False, description="Turn off vLLM's stat logging (also hides spec-decode and cache counters)."
    )
    kv_cache_space_gb: float | None = Field(
        None, gt=0, description="CPU backend only: KV-cache size in GiB (VLLM_CPU_KVCACHE_SPACE)."
    )


class EchoConfig(_Section):
    """The no-op engine: measures the harness alone (see docs/HOW_SPECBENCH_MEASURES.md)."""

    ttft_ms: float = Field(0.0, ge=0, description="echo engine: delay before the first token.")
    token_delay_ms: float = Field(0.0, ge=0, description="echo engine: delay between tokens.")
    slots: int | None = Field(
        None,
        ge=1,
        description="echo engine: serve at most this many requests at once, the others wait first come "
        "first served (a known capacity: slots / service time requests/s); unset = no limit.",
    )
    draft_ms: float = Field(
        0.0, ge=0, description="echo engine, speculative: time to draft K tokens, once per step."
    )
    verify_ms: float | None = Field(
        None,
        ge=0,
        description="echo engine, speculative: time of one verification step (the target's forward pass "
        "over K+1 tokens); unset = --echo-token-delay-ms.",
    )
    load_ms_per_token: float = Field(
        0.0,
        ge=0,
        description="echo engine: extra step time per token the step computes for every request in service "
        "(1 for AR, K+1 for a verification), so speculation loses under load as on a compute-bound GPU.",
    )


class OpenAIConfig(_Section):
    """A served model behind an OpenAI-compatible API (vllm serve, SGLang, TGI, a load balancer…)."""

    base_url: str = Field(
        "http://127.0.0.1:8000/v1",
        description="openai engine: the API root, e.g. http://HOST:PORT/v1 (vllm serve's default here).",
    )
    api_key_env: str | None = Field(
        None,
        description="openai engine: NAME of the environment variable holding the API key (sent as a "
        "bearer token); the key itself is never a setting, so no file or log can show it.",
    )
    chat: bool = Field(
        False,
        description="openai engine: /v1/chat/completions (prompt as one user message through the "
        "server's chat template) instead of /v1/completions.",
    )
    served_model_name: str | None = Field(
        None, description="openai engine: model name sent with requests; unset = the first of /v1/models."
    )
    prompt_format: Literal["auto", "token-ids", "text"] = Field(
        "auto",
        description="openai engine: send prompts as token ids (exact lengths) or as their text; auto = "
        "token ids where the server accepts them (completions), text otherwise (chat).",
    )
    metrics_url: str | None = Field(
        None,
        description="openai engine: Prometheus endpoint read before and after the measured requests; "
        "unset = /metrics at the server root of --base-url; 'none' = do not read.",
    )
    connect_timeout_s: float = Field(10.0, gt=0, description="openai engine: seconds to open a connection.")
    read_timeout_s: float = Field(
        600.0,
        gt=0,
        description="openai engine: longest wait for the next bytes of a response (queueing before the "
        "first token included) before the request fails.",
    )
    request_timeout_s: float | None = Field(
        None, gt=0, description="openai engine: longest whole request; unset = no limit."
    )

    @field_validator("base_url", "metrics_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "none":
            return value
        if not re.match(r"https?://[^/\s]+", value):
            raise ValueError("give an http:// or https:// URL, e.g. http://127.0.0.1:8000/v1")
        if "@" in value.split("/", 3)[2] or "?" in value or "#" in value:
            # Userinfo or a query (?api_key=…) would be written into the result and shown by --dry-run.
            raise UnshownValueError(
                "the URL carries credentials or a query: give the bare API root (e.g. http://HOST:PORT/v1) "
                "and put the key in a variable named by --api-key-env"
            )
        return value.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        # Never echo the value: someone may have typed the key itself here.
        if value is not None and (not _ENV_NAME.fullmatch(value) or looks_like_a_key(value)):
            what = "looks like a key" if looks_like_a_key(value) else "is not a variable name"
            raise UnshownValueError(
                f"the value given {what}: give the NAME of an environment variable that holds the key "
                "(letters, digits, _; e.g. OPENAI_API_KEY), not the key itself"
            )
        return value


class OutputConfig(_Section):
    dir: Path = Field(Path("results"), description="Directory for the result and per-request files.")
    path: Path | None = Field(
        None,
        description="Result file; default benchmark_results_<method>[_vllm].json in --output-dir (a bare "
        "file name given with --output-dir goes into that directory).",
    )
    save_requests: bool = Field(True, description="Write per-request records (JSONL) next to the result.")
    save_output_ids: bool = Field(
        True,
        description="Keep each request's output token ids in its record (the lossless check compares "
        "them); --no-save-output-ids keeps the records file small.",
    )


class SloConfig(_Section):
    ttft_ms: float | None = Field(None, gt=0, description="Goodput SLO on time to first token.")
    tpot_ms: float | None = Field(None, gt=0, description="Goodput SLO on time per output token.")
    e2el_ms: float | None = Field(None, gt=0, description="Goodput SLO on end-to-end latency.")

    @property
    def any(self) -> bool:
        return self.ttft_ms is not None or self.tpot_ms is not None or self.e2el_ms is not None


class SweepConfig(_Section):
    """Several points in one engine session: a rate sweep, or the search for the highest rate that meets
    the SLOs (see docs/SWEEPS.md)."""

    points: int | None = Field(
        None,
        ge=1,
        description="Rate sweep: measure the saturation throughput (rate inf), then this many rates evenly "
        "spaced from 1/N of it up to it, all in one engine session.",
    )
    find_max_rate: bool = Field(
        False,
        description="Search for the highest request rate at which --goodput-target of the requests meet "
        "every --slo-*-ms: bracket it, then bisect, in one engine session.",
    )
    goodput_target: float = Field(
        0.95, gt=0, le=1, description="SLO search: fraction of requests that must meet every SLO."
    )
    rate_precision: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="SLO search: stop when the bracket is narrower than this fraction of its lower end "
        "(5% or 0.05).",
    )
    probe_seconds: float = Field(
        30.0,
        gt=0,
        description="SLO search: each probe is judged on at least this long (plus its transient and tail).",
    )
    probe_requests: int = Field(
        200,
        ge=1,
        description="SLO search: each probe judges at least this many requests (plus transient and tail).",
    )
    max_probes: int = Field(12, ge=1, description="SLO search: give up after this many probes.")
    confirm_factor: float = Field(
        4.0,
        ge=0,
        description="SLO search: confirm the rate found with one probe whose judged part is this many times "
        "as long as a probe's at that rate, stepping down by the precision while it fails; 0 = no "
        "confirmation.",
    )
    settle_s: float = Field(
        1.0,
        ge=0,
        description="Between points: once the engine is idle, wait this long before the next point starts.",
    )

    @property
    def active(self) -> bool:
        """The points of a session are chosen as it runs (a --sweep or the SLO search), not listed."""
        return self.points is not None or self.find_max_rate


class TelemetryConfig(_Section):
    """GPU telemetry through NVML (nvidia-ml-py, the `gpu` extra), on the GPUs the engine uses."""

    enabled: bool = Field(
        True, description="Sample the run's GPUs (utilisation, memory, power, energy, clocks) through NVML."
    )
    interval_s: float = Field(0.25, ge=0.01, le=60, description="Seconds between two GPU samples.")


class RunConfig(_Section):
    engine: EngineName = Field(EngineName.transformers, description="transformers, vllm, echo or openai.")
    method: Method = Field(Method.target_ar, description="target-ar, draft-ar, speculative or prompt-lookup.")
    model: Path | None = Field(
        None, description="Local model directory; unset = the built-in tiny synthetic model."
    )
    draft_model: Path | None = Field(None, description="Draft model directory (speculative, draft-ar).")
    tokenizer: Path | None = Field(None, description="Tokenizer directory; unset = the model's.")
    dtype: str = Field("auto", description="auto, bfloat16, float16, float32.")
    device: str = Field("auto", description="auto (CUDA when available), cuda, cuda:N, cpu.")
    dummy_weights: bool = Field(
        False, description="Random weights from config.json alone: real speed, meaningless text."
    )
    trust_remote_code: bool = Field(False, description="Allow model code from the model directory to run.")
    seed: int = Field(0, ge=0, description="Seeds the workload and the engine: two runs send the same thing.")
    percentiles: list[float] = Field([90.0, 95.0, 99.0], description="Percentiles reported per metric.")
    workload: WorkloadConfig = WorkloadConfig()
    speculative: SpeculativeConfig = SpeculativeConfig()
    transformers: TransformersConfig = TransformersConfig()
    vllm: VllmConfig = VllmConfig()
    echo: EchoConfig = EchoConfig()
    openai: OpenAIConfig = OpenAIConfig()
    output: OutputConfig = OutputConfig()
    slo: SloConfig = SloConfig()
    telemetry: TelemetryConfig = TelemetryConfig()
    sweep: SweepConfig = SweepConfig()

    @field_validator("percentiles")
    @classmethod
    def _percentiles_in_range(cls, value: list[float]) -> list[float]:
        if any(not 0 < p < 100 for p in value):
            raise ValueError("percentiles must lie strictly between 0 and 100")
        return sorted(set(value))

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", value):
            raise ValueError("use auto, cpu, cuda or cuda:N")
        return value

    @field_validator("dtype")
    @classmethod
    def _known_dtype(cls, value: str) -> str:
        allowed = {"auto", "bfloat16", "float16", "half", "float32", "float"}
        if value not in allowed:
            raise ValueError(f"unknown dtype {value!r}; use one of {', '.join(sorted(allowed))}")
        return value

    @model_validator(mode="after")
    def _draft_model_when_needed(self) -> RunConfig:
        needs_draft = self.method is Method.draft_ar or (
            self.method is Method.speculative
            and self.speculative.spec_method in ("draft_model", "eagle", "eagle3")
        )
        # With no --model the built-in tiny model comes with its own built-in draft; a served model's
        # drafter is the server's business (--model only lends the openai engine its tokenizer).
        if (
            needs_draft
            and self.draft_model is None
            and self.model is not None
            and self.engine is not EngineName.openai
        ):
            raise ValueError(
                f"--method {self.method.value} needs a draft model: pass --draft-model DIR"
                + (" (or --spec-method ngram)" if self.method is Method.speculative else "")
            )
        return self

    @model_validator(mode="after")
    def _rate_mode_needs_finite_rate(self) -> RunConfig:
        # A sweep and the SLO search choose each point's rate themselves, so the base rate may stay inf.
        if self.workload.num_requests is None and math.isinf(self.workload.rate) and not self.sweep.active:
            raise ValueError(
                "rate mode (--duration without --num-prompts) needs a finite --rate: use --rate R, "
                "or --num-prompts N with --rate inf"
            )
        return self

    @model_validator(mode="after")
    def _sweep_or_search(self) -> RunConfig:
        sweep, slo = self.sweep, self.slo
        if sweep.points is not None and sweep.find_max_rate:
            raise ValueError("--sweep and --find-max-rate are two different runs: pick one")
        if sweep.find_max_rate and not slo.any:
            raise ValueError(
                "--find-max-rate needs at least one SLO: pass --slo-ttft-ms, --slo-tpot-ms or --slo-e2el-ms"
            )
        if sweep.find_max_rate and self.workload.max_concurrency is not None:
            raise ValueError(
                "--find-max-rate with --max-concurrency would queue requests in the client, where the SLOs "
                "do not see the wait: drop --max-concurrency"
            )
        return self

    @model_validator(mode="after")
    def _sweep_needs_a_rate_axis(self) -> RunConfig:
        workload = self.workload
        if self.sweep.points is not None and workload.trace is not None:
            raise ValueError(
                "--sweep measures the saturation rate first, which a trace's own timestamps do not have: "
                "list rates instead (--rate 1,2,4 scales the trace to each mean rate)"
            )
        if self.sweep.active and workload.ramp != "none":
            raise ValueError("a rate ramp already varies the rate over one run: drop --sweep/--find-max-rate")
        return self

    @property
    def is_speculative(self) -> bool:
        return self.method in (Method.speculative, Method.prompt_lookup)
