#!/bin/bash
# Proof of issue 16 on an NVIDIA GPU (written for the lent H200): check-env for both engines, the sampler's
# cost, `specbench monitor` during a load, and a vLLM and a Transformers run whose results carry the `gpus`
# section, the energy figures and the decode roofline. Dummy Qwen3-8B weights (config.json only).
#
# Run from the repository root on the GPU machine, with `python3 -m specbench` importable (PYTHONPATH) and
# nvidia-ml-py installed. Each stage fits one 10-minute call:
#   bash benchmarks/gpu_proof.sh checks         # check-env (vLLM, Transformers, a 70B-class config), sampler cost  ~2 min
#   bash benchmarks/gpu_proof.sh vllm           # vLLM at concurrency 1 and 32, monitor alongside                  ~4 min
#   bash benchmarks/gpu_proof.sh transformers   # Transformers, one request at a time                               ~2 min
#   bash benchmarks/gpu_proof.sh h2h            # Transformers vs vLLM head-to-head (quick-test, 30 s), monitor  ~6 min
#   bash benchmarks/gpu_proof.sh http           # vllm serve + --engine openai vs in-process vLLM, same load     ~5 min
#   bash benchmarks/gpu_proof.sh sweep          # vLLM --sweep 4 in one engine session (sustained saturation)    ~5 min
#   bash benchmarks/gpu_proof.sh search         # vLLM --find-max-rate under TTFT/TPOT SLOs, confirmed (issue 24)  ~8 min
#   bash benchmarks/gpu_proof.sh sustain        # 60 s at the rate found and at the bracket's top (INDEX=…)     ~4 min
#   bash benchmarks/gpu_proof.sh prefix         # --max-concurrency 1,64 beside LLM.generate; prefix-cache hits    ~2 min
#   bash benchmarks/gpu_proof.sh conversations  # 5-turn conversations, prefix caching on and off (issue 28)   ~6 min
#   bash benchmarks/gpu_proof.sh shared-prefix  # shared-prefix workload, prefix caching on and off             ~4 min
#   bash benchmarks/gpu_proof.sh trace          # a Mooncake-layout trace replayed at 2x speed                  ~4 min
#   bash benchmarks/gpu_proof.sh ramp           # rate ramp 1 -> 40 req/s over 60 s, figures per 10 s window     ~3 min
#   bash benchmarks/gpu_proof.sh workloads      # per-turn and per-window figures of the four stages above
#   bash benchmarks/gpu_proof.sh overhead       # the client with the new kinds on an idle host (no GPU used)  ~1 min
#   bash benchmarks/gpu_proof.sh summary        # the figures of every result written so far
# MODEL (default /root/models/qwen3-8b) and OUT (default $OUT, else ./gpu_proof_out) may be set.
set -uo pipefail
MODEL=${MODEL:-/root/models/qwen3-8b}
OUT=${OUT:-gpu_proof_out}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
WORKLOAD=(--dummy-weights --input-len 512 --output-len 128 --rate inf --warmup 2)

say() { printf '\n== %s\n' "$*"; }

checks() {
  say "check-env, vLLM (expect every check pass; memory fit ≈ 800k tokens of KV at 0.9)"
  $PY -m specbench check-env --engine vllm --model "$MODEL" | tee "$OUT/check_env_vllm.txt"
  echo "exit code: ${PIPESTATUS[0]} (expect 0)"
  $PY -m specbench check-env --engine vllm --model "$MODEL" --json > "$OUT/check_env_vllm.json"
  say "check-env, Transformers (expect every check pass)"
  $PY -m specbench check-env --engine transformers --model "$MODEL" | tee "$OUT/check_env_transformers.txt"
  echo "exit code: ${PIPESTATUS[0]} (expect 0)"
  say "check-env, a 70B-class config on one GPU (expect memory fit: fail, weights do not fit; exit 1)"
  big=$(mktemp -d)
  $PY - "$MODEL/config.json" "$big/config.json" <<'EOF'
import json, sys
config = json.load(open(sys.argv[1]))
config.update(hidden_size=8192, num_hidden_layers=80, num_attention_heads=64, intermediate_size=28672)
json.dump(config, open(sys.argv[2], "w"))
EOF
  $PY -m specbench check-env --engine vllm --model "$big" | tee "$OUT/check_env_70b.txt"
  echo "exit code: ${PIPESTATUS[0]} (expect 1)"
  say "… with --tensor-parallel-size 2 (one GPU: fail, 2 GPUs needed; two or more GPUs: memory fit pass)"
  $PY -m specbench check-env --engine vllm --model "$big" --tensor-parallel-size 2 --json \
    > "$OUT/check_env_70b_tp2.json"
  echo "exit code: $?"
  $PY -c 'import json, sys; [print(c) for c in json.load(open(sys.argv[1]))["checks"] if c["name"] == "memory fit"]' \
    "$OUT/check_env_70b_tp2.json"
  rm -rf "$big"
  say "sampler cost on the real NVML (expect a round ≪ 1 ms; lateness with the sampler as without)"
  $PY benchmarks/telemetry_overhead.py --nvml real --runs 3 | tee "$OUT/telemetry_overhead.txt"
}

vllm() {
  say "vLLM, concurrency 1 and 32, with specbench monitor sampling every 0.5 s alongside"
  $PY -m specbench monitor --interval 0.5 --output "$OUT/monitor.csv" > "$OUT/monitor.log" 2>&1 &
  monitor=$!
  $PY -m specbench run --engine vllm --model "$MODEL" "${WORKLOAD[@]}" --num-prompts 32 \
    --max-concurrency 1,32 --output-dir "$OUT/vllm" | tee "$OUT/vllm_run.txt"
  kill -TERM "$monitor"
  wait "$monitor"
  echo "monitor exit code: $? (expect 0 after SIGTERM)"
  tail -n 2 "$OUT/monitor.log"
  echo "monitor.csv: $(($(wc -l < "$OUT/monitor.csv") - 1)) rows; the busiest:"
  sort -t, -k6 -n -r "$OUT/monitor.csv" | head -n 3
}

transformers() {
  say "Transformers, one request at a time"
  $PY -m specbench run --engine transformers --model "$MODEL" "${WORKLOAD[@]}" --num-prompts 8 \
    --max-concurrency 1 --output "$OUT/transformers.json" | tee "$OUT/transformers_run.txt"
}

summary() {
  say "figures of every result (expect gpus present, energy_source nvml_energy_counter, roofline ≈ 293.9 tok/s;"
  echo "   vLLM at concurrency 1 ≈ 190 tok/s per stream → bandwidth utilisation ≈ 0.65; Transformers eager ≈ 0.11)"
  $PY - "$OUT" <<'EOF'
import json, pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.json")):
    data = json.loads(path.read_text())
    if "schema_version" not in data or "engine" not in data:  # index.json files are not results
        continue
    gpus = data.get("gpus")
    print(f"\n{path}  ({data['engine']['name']}, {data['run'].get('label') or 'single'}, {data['run']['status']})")
    print(f"  completed {data.get('completed')}  mean TPOT {data.get('mean_tpot_ms')} ms  "
          f"output {data.get('output_throughput')} tok/s  duration {data.get('duration')} s")
    if gpus is None:
        print("  gpus: null —", [n for n in data["run"]["notes"] if "GPU" in n])
        continue
    for key in ("energy_j", "mean_power_w", "joules_per_output_token", "output_tokens_per_joule",
                "mean_gpu_utilization", "max_gpu_memory_used_gib", "decode_roofline_tok_s",
                "decode_bandwidth_utilization"):
        print(f"  {key:<30} {data.get(key)}")
    print(f"  energy_source {gpus['energy_source']}  window_s {gpus['window_s']}  "
          f"timeline rounds {len(gpus['timeline']['t_s'])}  errors {gpus['errors']}  notes {gpus['notes']}")
    for device in gpus["devices"]:
        print(f"  device {device}")
    print(f"  roofline {gpus['roofline']}")
    for window in gpus["window"]:
        print(f"  GPU {window['index']}: {window['samples']} samples, util {window['gpu_utilization_pct']}, "
              f"power {window['power_w']}, energy {window['energy_j']} J, clocks events "
              f"{window['clock_event_reasons']}")
EOF
}

h2h() {
  say "head-to-head: Transformers vs vLLM on the quick-test profile shortened to 30 s, monitor alongside"
  $PY -m specbench monitor --interval 0.5 --output "$OUT/h2h_monitor.csv" > "$OUT/h2h_monitor.log" 2>&1 &
  monitor=$!
  $PY -m specbench run --engine transformers,vllm --method target-ar --model "$MODEL" --dummy-weights \
    --profile quick-test --duration 30 --max-model-len 4096 --output-dir "$OUT/h2h" | tee "$OUT/h2h_run.txt"
  kill -TERM "$monitor"; wait "$monitor"; echo "monitor exit code: $? (expect 0 after SIGTERM)"
  echo "monitor.csv: $(($(wc -l < "$OUT/h2h_monitor.csv") - 1)) rows"
  run_dir=$(ls -d "$OUT"/h2h/*/ | head -n 1)
  $PY -m specbench compare "$run_dir" --format markdown --output "$OUT/h2h_compare.md"
  cat "$OUT/h2h_compare.md"
}

http() {
  say "the same workload served (vllm serve + --engine openai) and in-process (--engine vllm)"
  local port=8000 load=(--num-prompts 200 --rate 8 --input-len 512 --output-len 128 --seed 0 --warmup 4)
  # config.json alone: the server runs without a tokenizer and streams usage, not text.
  $PY -m vllm.entrypoints.openai.api_server --model "$MODEL" --load-format dummy --skip-tokenizer-init \
    --max-model-len 4096 --host 127.0.0.1 --port $port > "$OUT/http_serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 150); do
    $PY -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/v1/models')" 2> /dev/null && break
    kill -0 "$server" 2> /dev/null || { tail -n 20 "$OUT/http_serve.log"; return 1; }
    sleep 2
  done
  $PY -m specbench run --engine openai --base-url "http://127.0.0.1:$port/v1" --tokenizer "$MODEL" \
    "${load[@]}" --output "$OUT/http/served.json" | tee "$OUT/http_served.txt"
  kill -INT "$server"; wait "$server"
  $PY -m specbench run --engine vllm --model "$MODEL" --dummy-weights --max-model-len 4096 "${load[@]}" \
    --output "$OUT/http/inprocess.json" | tee "$OUT/http_inprocess.txt"
  $PY -m specbench compare "$OUT/http/inprocess.json" "$OUT/http/served.json" --format markdown \
    --output "$OUT/http_compare.md"
  cat "$OUT/http_compare.md"
}

sweep() {
  say "vLLM rate sweep in one engine session: saturation, then 4 rates up to it"
  timeout -s INT 480 $PY -m specbench run --engine vllm --model "$MODEL" --dummy-weights --max-model-len 4096 \
    --input-len 512 --output-len 128 --num-prompts 200 --sweep 4 --slo-ttft-ms 500 --slo-tpot-ms 50 \
    --output-dir "$OUT/sweep" > "$OUT/sweep.txt" 2>&1
  echo "exit code: $?"; tail -n 30 "$OUT/sweep.txt"
}

# Issue 24 (a): the search judges probes on their steady state and confirms its rate with a probe 4× as long
# (stepping down while that fails); `sustain` then holds the rate found and the bracket's upper end 60 s each.
SEARCH_LOAD=(--engine vllm --model "$MODEL" --dummy-weights --max-model-len 4096 --input-len 512 --output-len 128)
SEARCH_SLO=(--slo-ttft-ms 500 --slo-tpot-ms 50)

search() {
  say "vLLM: the highest rate at which 95 % of requests meet TTFT ≤ 500 ms and TPOT ≤ 50 ms (confirmed)"
  timeout -s INT 340 $PY -m specbench run "${SEARCH_LOAD[@]}" --num-prompts 200 --find-max-rate "${SEARCH_SLO[@]}" \
    --goodput-target 0.95 --rate-precision 5% --probe-seconds 12 --max-probes 6 --confirm-factor 4 \
    --output-dir "$OUT/search" > "$OUT/search.txt" 2>&1
  echo "exit code: $?"; tail -n 45 "$OUT/search.txt"
}

sustain() {
  local index=${INDEX:-$(ls -t "$OUT"/search/*/index.json 2> /dev/null | head -n 1)}
  [ -n "$index" ] || { echo "run the search stage first (or set INDEX to a search's index.json)"; return 1; }
  say "60 s at the rate found and 60 s at the bracket's top, one engine session (expect ≥ 95 % within the"
  echo "   SLOs at the rate found); the search: $index"
  timeout -s INT 300 $PY benchmarks/slo_search_check.py --from-index "$index" --seeds 1 --sustain-s 60 --upper \
    --engine-args "${SEARCH_LOAD[*]}" --slo "${SEARCH_SLO[*]}" | tee "$OUT/sustain.txt"
}

# Issue 24 (b): two points of one session, the second beside LLM.generate of 64 distinct prompts in this call.
prefix() {
  say "--rate inf --max-concurrency 1,64 --num-prompts 64, 256/128 (expect hit rate 0, ratio within 3 %)"
  timeout -s INT 200 $PY benchmarks/prefix_cache_check.py --model "$MODEL" --dummy-weights --input-len 256 \
    --output-len 128 --prompts 64 --passes 2 | tee "$OUT/prefix.txt"
}

# The same max-model-len as the search: one torch.compile cache serves every vLLM start of these stages.
VLLM_DUMMY=(--engine vllm --model "$MODEL" --dummy-weights --max-model-len 4096)

conversations() {
  say "conversations: 48 sessions of 5 turns (1024 + 4 x 256 new tokens, 128 answered each), think 1 s,"
  echo "   2 sessions/s; prefix caching on, then off (expect later turns' TTFT far lower and hit rate > 0.8 on)"
  local load=(--turns 5 --input-len 1024 --turn-input-len 256 --output-len 128 --think-time 1 --num-prompts 48
    --rate 2 --seed 0 --warmup 2)
  for caching in on off; do
    local flag=--enable-prefix-caching
    [ "$caching" = off ] && flag=--no-enable-prefix-caching
    timeout -s INT 170 $PY -m specbench run "${VLLM_DUMMY[@]}" "${load[@]}" $flag \
      --output "$OUT/workloads/conversations_$caching.json" \
      | tee "$OUT/conversations_$caching.txt" | tail -n 14
  done
}

shared_prefix() {
  say "shared prefixes: 8 groups sharing 2048 of 2304 prompt tokens, 400 requests at 16 req/s; caching on, off"
  local load=(--prefix-groups 8 --prefix-len 2048 --input-len 2304 --output-len 64 --num-prompts 400 --rate 16
    --seed 0 --warmup 2)
  for caching in on off; do
    local flag=--enable-prefix-caching
    [ "$caching" = off ] && flag=--no-enable-prefix-caching
    timeout -s INT 90 $PY -m specbench run "${VLLM_DUMMY[@]}" "${load[@]}" $flag \
      --output "$OUT/workloads/prefix_$caching.json" \
      > "$OUT/prefix_$caching.txt" 2>&1
    echo "exit code: $?"; grep -E "TTFT|throughput|Prefix|prefix" "$OUT/prefix_$caching.txt" | head -n 12
  done
}

trace() {
  say "a Mooncake-layout trace (timestamp ms, input_length, output_length, hash_ids of 512-token blocks) at 2x"
  # The published traces are not fetched here (no network on the GPU machine): the same layout, written with
  # their shape (a shared first block, sessions reusing their blocks); 2 of its 4 minutes replayed at 2x: 1 minute.
  $PY - "$OUT/mooncake_layout_trace.jsonl" <<'EOF2'
import json, random, sys
rng = random.Random(0)
rows, next_block, sessions, t = [], 1, [], 0.0
while t < 240_000:
    t += rng.expovariate(2 / 1000)  # 2 req/s in trace time
    if sessions and rng.random() < 0.5:  # a follow-up: the session's blocks, then new ones
        blocks = rng.choice(sessions)
    else:
        blocks = [0]
        sessions.append(blocks)
    new = rng.randint(1, 8)
    blocks += list(range(next_block, next_block + new))
    next_block += new
    blocks[:] = blocks[:7]  # at most 3584 tokens, + 512 out: within the engine's 4096
    rows.append({"timestamp": int(t), "input_length": len(blocks) * 512 - rng.randint(0, 511),
                 "output_length": rng.randint(16, 512), "hash_ids": list(blocks)})
with open(sys.argv[1], "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in rows)
print(f"{len(rows)} requests, {next_block} blocks")
EOF2
  timeout -s INT 120 $PY -m specbench run "${VLLM_DUMMY[@]}" --trace "$OUT/mooncake_layout_trace.jsonl" --trace-speed 2 \
    --trace-window 0:120 --seed 0 \
    --enable-prefix-caching --window 10 --output "$OUT/workloads/trace_2x.json" > "$OUT/trace_2x.txt" 2>&1
  echo "exit code: $?"; tail -n 40 "$OUT/trace_2x.txt"
}

ramp() {
  say "a linear ramp from 1 to 40 req/s over 60 s (1024 in, 256 out): where does TTFT turn up?"
  $PY -m specbench run "${VLLM_DUMMY[@]}" --rate 1 --ramp linear --ramp-to 40 --duration 60 --num-prompts 0 \
    --input-len 1024 --output-len 256 --window 10 --seed 0 --output "$OUT/workloads/ramp.json" \
    > "$OUT/ramp.txt" 2>&1
  echo "exit code: $?"; tail -n 30 "$OUT/ramp.txt"
}

workloads() {
  say "per-turn and per-window figures of the workload stages"
  $PY - "$OUT/workloads" <<'EOF2'
import json, pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    data = json.loads(path.read_text())
    w = data["workload"]
    print(f"\n{path.name}: kind {w.get('kind')}, {data.get('completed')} completed, {data.get('failed')} failed, "
          f"caching {data['engine']['settings'].get('enable_prefix_caching')}, engine hit rate "
          f"{data.get('prefix_cache_hit_rate')}, median TTFT {data.get('median_ttft_ms')} ms, "
          f"p99 dispatch lag {data.get('p99_dispatch_lag_ms')} ms, achieved {data.get('achieved_rate')} req/s")
    for row in data.get("turns") or []:
        print("  turn", {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})
    if w.get("kind") in ("trace", "ramp"):
        for row in data.get("windows") or []:
            print("  window", {k: round(v, 1) if isinstance(v, float) else v for k, v in row.items()})
EOF2
}

overhead() {
  say "trace replay at 1000 req/s vs the Poisson path; CPU per conversation turn vs a plain request (echo)"
  $PY benchmarks/workload_overhead.py | tee "$OUT/workload_overhead.txt"
  $PY benchmarks/harness_overhead.py --rates 1000 --loop asyncio | tail -n 6
}

case "${1:-all}" in
  checks) checks ;;
  vllm) vllm; summary ;;
  transformers) transformers; summary ;;
  h2h) h2h; summary ;;
  http) http; summary ;;
  sweep) sweep ;;
  search) search ;;
  sustain) sustain ;;
  prefix) prefix ;;
  summary) summary ;;
  conversations) conversations; workloads ;;
  shared-prefix) shared_prefix; workloads ;;
  trace) trace; workloads ;;
  ramp) ramp; workloads ;;
  workloads) workloads ;;
  overhead) overhead ;;
  all) checks; transformers; h2h; http; sweep; search; sustain; prefix; summary ;;
  *) echo "usage: $0 [checks|transformers|vllm|h2h|http|sweep|search|sustain|prefix|conversations|shared-prefix|trace|ramp|workloads|overhead|summary|all]"; exit 2 ;;
esac
