#!/bin/bash
# The seed's four experiments with real vLLM, every step done by servecap from this checkout.
#
# On the H200 (vLLM 0.24.0 from the bundle in ../shared/gpu-vllm, Qwen3-4B's real config.json,
# --load-format dummy weights), after `bash .gpu0/unpack.sh install`:
#   bash benchmarks/gpu/run.sh memory    # 1. memory: 0.5/10000, then `refusal` (at 40960)
#   bash benchmarks/gpu/run.sh speed     # 2.+3. at 0.9: one request, then the users sweep
#                                        #   (1,4,16,64 in one process, then 4 x 64 users
#                                        #   from 4 processes started together)
#   bash benchmarks/gpu/run.sh speed05   # 2. one request at 0.5 (the seed's comparison)
#   bash benchmarks/gpu/bytes.sh DIR     # 1. one start-up that logs memory in bytes
# SRC=DIR runs servecap from another copy of src/ (the GPU run used a snapshot in .gpu0/src).
# Everything lands in $OUT: plans, vLLM logs, explain output, bench result files.
# Rehearsal on a CPU, with the tiny model and vLLM's CPU build:
#   SERVECAP=.venv/bin/servecap MODEL=/tmp/tiny NAME=tiny VLLM_ARGS= USERS=1,4 PARTS=2 PART_USERS=2 \
#   PLAN_ARGS="--device cpu --kv-cache-space-gib 1 --vllm-version 0.32.0" bash benchmarks/gpu/run.sh speed
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/servecap-gpu}
mkdir -p "$OUT/prompts"
SITE=${SITE:-$HOME/vllm-site}
MODEL=${MODEL:-$SITE/qwen3-4b}
NAME=${NAME:-Qwen/Qwen3-4B}
PLAN_ARGS=${PLAN_ARGS:---gpu h200 --vllm-version 0.24.0}
VLLM_ARGS=${VLLM_ARGS---load-format dummy}
USERS=${USERS:-1,4,16,64}
PARTS=${PARTS:-4}  # the last step, PARTS x 64 users, from PARTS processes at once
PART_USERS=${PART_USERS:-64}
PORT=${PORT:-8011}
export PYTHONPATH=${SRC:-src}:$SITE${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
export VLLM_USE_FLASHINFER_SAMPLER=0 HF_HUB_OFFLINE=1
[ -f .gpu0/logcfg.json ] && export VLLM_LOGGING_CONFIG_PATH=$PWD/.gpu0/logcfg.json
read -r -a SC <<< "${SERVECAP:-python3 -m servecap}"
URL=http://127.0.0.1:$PORT

say() { echo "=== $(date +%T) $*"; }

# start `servecap serve` in the background; wait until vLLM answers /health (or gives up)
FORCE=()
serve() {  # NAME_OF_RUN vllm-flags...
  local run=$1; shift
  say "serve $run: $*"
  "${SC[@]}" plan "$MODEL" $PLAN_ARGS "$@" --json > "$OUT/$run.plan.json"
  "${SC[@]}" serve "$MODEL" $PLAN_ARGS "$@" "${FORCE[@]}" --served-model-name "$NAME" $VLLM_ARGS \
    --port "$PORT" --log-file "$OUT/$run.vllm.log" --ready-timeout 400 \
    > "$OUT/$run.serve.txt" 2>&1 &
  SERVE_PID=$!
  for _ in $(seq 1 400); do
    if ! kill -0 $SERVE_PID 2>/dev/null; then say "serve $run ended"; return 1; fi
    python3 -c "import urllib.request as u; u.urlopen('$URL/health', timeout=2)" 2>/dev/null \
      && { say "serve $run ready"; return 0; }
    sleep 1
  done
  say "serve $run: no /health after 400 s"; return 1
}

stop() {
  kill -TERM $SERVE_PID 2>/dev/null
  wait $SERVE_PID 2>/dev/null
  say "stopped"
}

explain() {  # NAME_OF_RUN
  "${SC[@]}" explain "$OUT/$1.vllm.log" $PLAN_ARGS --model "$MODEL" > "$OUT/$1.explain.txt" 2>&1
  "${SC[@]}" explain "$OUT/$1.vllm.log" $PLAN_ARGS --model "$MODEL" --json \
    > "$OUT/$1.explain.json" 2>> "$OUT/$1.explain.txt"
}

bench() {  # RESULT_NAME bench-flags...
  local run=$1; shift
  say "bench $run: $*"
  "${SC[@]}" bench --url "$URL" --model "$NAME" --output "$OUT/$run.jsonl" --json "$@" \
    > "$OUT/$run.json" 2> "$OUT/$run.err" || say "bench $run failed: $(tail -n 2 "$OUT/$run.err")"
}

# COUNT prompts of 100 of the served tokenizer's own words, "t0".."t151935" in the bundle's
# synthetic tokenizer: English words are all one unknown token there, so every prompt would be
# the same sequence and vLLM's prefix cache would serve it
prompts() {  # FILE COUNT SEED
  python3 -c "import json, random, sys
r = random.Random(int(sys.argv[2]))
for _ in range(int(sys.argv[1])):
    print(json.dumps({'prompt': ' '.join(f't{r.randrange(151000)}' for _ in range(100))}))" \
    "$2" "$3" > "$1"
}

one_request() {  # RESULT_NAME
  # the first requests of a server wait for Triton to compile the sampler: warm up first
  prompts "$OUT/prompts/$1.jsonl" 8 1
  bench "$1" --requests 1 --repeat 5 --warmup 3 --dataset "$OUT/prompts/$1.jsonl" --output-tokens 1000
}

sweep() {  # RESULT_NAME: the sweep in one process, then PARTS x PART_USERS users from PARTS
  local run=$1
  prompts "$OUT/prompts/$run.jsonl" 200 2
  bench "$run" --sweep-users "$USERS" --warmup 16 --dataset "$OUT/prompts/$run.jsonl" --output-tokens 1000
  local t=$(( $(date +%s) + 30 )) pids=()
  for i in $(seq 1 "$PARTS"); do
    prompts "$OUT/prompts/$run-part$i.jsonl" $((PART_USERS + 4)) $((10 + i))
    bench "$run-part$i" --users "$PART_USERS" --warmup 4 --start-at "$t" \
      --dataset "$OUT/prompts/$run-part$i.jsonl" --output-tokens 1000 &
    pids+=($!)
  done
  wait "${pids[@]}"
  "${SC[@]}" report "$OUT/$run"-part*.jsonl --json > "$OUT/$run-parts.json"
}

case "${1:-}" in
  memory)
    serve mem-0.5 --gpu-memory-utilization 0.5 --max-model-len 10000 \
      && { explain mem-0.5; one_request single-0.5; }
    stop
    bash "$0" refusal
    ;;
  refusal)
    # the plan's own smallest utilization for 40,960 tokens, minus a step: vLLM must refuse
    U=$("${SC[@]}" plan "$MODEL" $PLAN_ARGS --max-model-len 40960 --json \
      | python3 -c "import json,sys; print(round(json.load(sys.stdin)['smallest_setup']['min_gpu_memory_utilization'] - 0.01, 2))")
    echo "$U" > "$OUT/refusal.utilization"
    FORCE=(--force)
    serve refusal --gpu-memory-utilization "$U" --max-model-len 40960
    stop
    FORCE=()
    explain refusal
    ;;
  speed)
    serve mem-0.9 --gpu-memory-utilization 0.9 \
      && { explain mem-0.9; one_request single-0.9;
           sweep sweep-0.9; }
    stop
    ;;
  speed05)
    serve mem-0.5b --gpu-memory-utilization 0.5 --max-model-len 10000 \
      && one_request single-0.5b
    stop
    ;;
  *) echo "usage: $0 memory|speed|speed05" >&2; exit 2 ;;
esac
ls -la "$OUT"
