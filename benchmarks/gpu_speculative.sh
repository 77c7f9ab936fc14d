#!/bin/bash
# The speculative-decoding measurements of docs/GPU_RESULTS.md, run ON the lent GPU (vLLM staged in /root/site,
# dummy Qwen3 configs in /root/models). Results go to $OUT.
#   batch1:     vLLM's LLM.generate and AsyncLLM at batch 1 (draft model K=3, synthetic acceptance 2.5) beside
#               specbench's concurrency-1 speculative point, in one call
#   categories: issue 27's category-path overhead with the same engine settings
#   plan:   AR + synthetic acceptance 1.5,2.5,3.5 (K=3) × concurrency 1,8,32,128: the speculative report
set -u
M=/root/models/qwen3-8b
D=/root/models/qwen3-0.6b
export COLUMNS=160
COMMON=(--engine vllm --model "$M" --draft-model "$D" --dummy-weights --input-len 256 --output-len 128
        --max-num-seqs 128 --max-num-batched-tokens 8192 --max-model-len 2048 --num-speculative-tokens 3)
case "$1" in
batch1)
    # vLLM's two front ends and specbench, speculative at batch 1, each its own process and engine start. The
    # first start compiles (cold torch.compile caches) and the others load what it saved: AsyncLLM goes first,
    # so a slow cold-start process and a slow LLM.generate front end tell themselves apart.
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    REF=(--model "$M" --draft-model "$D" --k 3 --synthetic-acceptance 2.5 --num-prompts 8)
    step() { local name=$1 limit=$2; shift 2; SECONDS=0
             timeout -s INT "$limit" "$@" > "$OUT/$name.json" 2> "$OUT/$name.err"
             echo "$name rc=$? ${SECONDS}s: $(grep "^{" "$OUT/$name.json" | tail -n 1 | cut -c1-900)"; }
    step asyncllm_spec_first 170 python3 benchmarks/speculative_llm_generate.py "${REF[@]}" --api asyncllm
    step llm_spec 80 python3 benchmarks/speculative_llm_generate.py "${REF[@]}" --api llm
    SECONDS=0
    timeout -s INT 90 python3 -m specbench run "${COMMON[@]}" --method speculative --synthetic-acceptance 2.5 \
        --max-concurrency 1 --num-prompts 8 --warmup 2 --output-dir "$OUT/batch1" > "$OUT/batch1.log" 2>&1
    echo "specbench rc=$? ${SECONDS}s"; grep -E "tok/s|TPOT|accept|started" "$OUT/batch1.log" | head -n 20
    ;;
categories)
    # Issue 27: the category path against the same workload without categories, same engine settings as batch1.
    timeout -s INT "${2:-300}" python3 benchmarks/category_overhead.py --engine vllm --model "$M" --dummy-weights \
        --method speculative --spec-method draft_model --draft-model "$D" --synthetic-acceptance 2.5 \
        --num-prompts 256 --input-len 256 --output-len 128 --rounds 2 --max-model-len 2048 --max-num-seqs 128 \
        --max-num-batched-tokens 8192 2> "$OUT/categories.err" | tee "$OUT/categories.txt"
    ;;
plan)
    timeout "${2:-560}" python3 -m specbench run "${COMMON[@]}" --method target-ar,speculative \
        --synthetic-acceptance 1.5,2.5,3.5 --max-concurrency 1,8,32,128 --prompts-per-concurrency 4 --warmup 4 \
        --output-dir "$OUT/plan" >"$OUT/plan.log" 2>&1
    echo "specbench rc=$?"; tail -90 "$OUT/plan.log"
    ;;
esac
