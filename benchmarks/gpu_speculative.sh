#!/bin/bash
# The speculative-decoding measurements of docs/GPU_RESULTS.md, run ON the lent GPU (vLLM staged in /root/site,
# dummy Qwen3 configs in /root/models). Results go to $OUT.
#   batch1: vLLM's LLM.generate at batch 1 (AR, and draft model K=3 at synthetic acceptance 2.5) beside
#           specbench's concurrency-1 AR and speculative points, in one call
#   plan:   AR + synthetic acceptance 1.5,2.5,3.5 (K=3) × concurrency 1,8,32,128: the speculative report
set -u
M=/root/models/qwen3-8b
D=/root/models/qwen3-0.6b
export COLUMNS=160
COMMON=(--engine vllm --model "$M" --draft-model "$D" --dummy-weights --input-len 256 --output-len 128
        --max-num-seqs 128 --max-num-batched-tokens 8192 --max-model-len 2048 --num-speculative-tokens 3)
case "$1" in
batch1)
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    python3 benchmarks/speculative_llm_generate.py --model "$M" --num-prompts 8 2>"$OUT/llm_ar.err" | tee "$OUT/llm_ar.json"
    python3 benchmarks/speculative_llm_generate.py --model "$M" --draft-model "$D" --k 3 --synthetic-acceptance 2.5 \
        --num-prompts 8 2>"$OUT/llm_spec.err" | tee "$OUT/llm_spec.json"
    python3 -m specbench run "${COMMON[@]}" --method target-ar,speculative --synthetic-acceptance 2.5 \
        --max-concurrency 1 --num-prompts 8 --warmup 2 --output-dir "$OUT/batch1" >"$OUT/batch1.log" 2>&1
    echo "specbench rc=$?"; tail -60 "$OUT/batch1.log"
    ;;
plan)
    timeout "${2:-560}" python3 -m specbench run "${COMMON[@]}" --method target-ar,speculative \
        --synthetic-acceptance 1.5,2.5,3.5 --max-concurrency 1,8,32,128 --prompts-per-concurrency 4 --warmup 4 \
        --output-dir "$OUT/plan" >"$OUT/plan.log" 2>&1
    echo "specbench rc=$?"; tail -90 "$OUT/plan.log"
    ;;
esac
