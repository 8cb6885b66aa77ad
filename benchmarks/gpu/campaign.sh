#!/bin/bash
# The measurements behind the shipped step-time profiles: for each model, start real vLLM with
# dummy weights (`servecap serve`), run servecap's planned measurement against it
# (benchmarks/gpu/measure.py), stop it; and one run where the KV cache is scarce.
#
# On an H100/H200, after `bash .gpu0/unpack.sh install` (../shared/gpu-vllm/README.md):
#   bash benchmarks/gpu/campaign.sh GPU MODEL...     # e.g. h100-sxm Qwen/Qwen3-1.7B Qwen/Qwen3-8B
#   bash benchmarks/gpu/campaign.sh GPU scarce       # Qwen3-8B, 2,048 blocks, 96 users
# Everything lands in $OUT/<model>/: the plan, vLLM's log, the explain output, result files.
# Rehearsal on a CPU (vLLM's CPU build, a tiny model):
#   SERVECAP=.venv/bin/servecap PY=.venv/bin/python MODEL_DIR=/tmp/tiny QUICK=1 \
#   PLAN_ARGS="--device cpu --kv-cache-space-gib 1 --vllm-version 0.32.0" VLLM_ARGS= \
#   bash benchmarks/gpu/campaign.sh cpu tiny
set -uo pipefail
cd "$(dirname "$0")/../.."
GPU=$1; shift
OUT=${OUT:-/tmp/servecap-gpu}
SITE=${SITE:-$HOME/vllm-site}
MODELS=${MODELS:-$HOME/models}
VERSION=${VERSION:-0.24.0}
PLAN_ARGS=${PLAN_ARGS:---gpu $GPU --vllm-version $VERSION}
VLLM_ARGS=${VLLM_ARGS---load-format dummy}
PORT=${PORT:-8011}
export PYTHONPATH=${SRC:-src}:$SITE${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
export VLLM_USE_FLASHINFER_SAMPLER=0 HF_HUB_OFFLINE=1
[ -f .gpu0/logcfg.json ] && export VLLM_LOGGING_CONFIG_PATH=$PWD/.gpu0/logcfg.json
read -r -a SC <<< "${SERVECAP:-python3 -m servecap}"
read -r -a PYTHON <<< "${PY:-python3}"
URL=http://127.0.0.1:$PORT
QUICK_FLAG=(); [ -n "${QUICK:-}" ] && QUICK_FLAG=(--quick)

say() { echo "=== $(date +%T) $*"; }

serve() {  # DIR NAME flags...: start vLLM, wait for /health
  local dir=$1 name=$2; shift 2
  mkdir -p "$OUT/$dir"
  "${SC[@]}" plan "$name" $PLAN_ARGS "$@" --json > "$OUT/$dir/plan.json"
  "${SC[@]}" serve "${MODEL_DIR:-$MODELS/$dir}" $PLAN_ARGS "$@" --served-model-name "$name" \
    $VLLM_ARGS --port "$PORT" --log-file "$OUT/$dir/vllm.log" --ready-timeout 600 \
    > "$OUT/$dir/serve.txt" 2>&1 &
  SERVE_PID=$!
  for _ in $(seq 1 600); do
    kill -0 $SERVE_PID 2>/dev/null || { say "serve $dir ended"; tail -5 "$OUT/$dir/serve.txt"; return 1; }
    "${PYTHON[@]}" -c "import urllib.request as u; u.urlopen('$URL/health', timeout=2)" 2>/dev/null \
      && { say "serve $dir ready"; return 0; }
    sleep 1
  done
  say "serve $dir: no /health after 600 s"; return 1
}

stop() {
  kill -TERM $SERVE_PID 2>/dev/null; wait $SERVE_PID 2>/dev/null; say "stopped"
}

explain() {  # DIR NAME
  "${SC[@]}" explain "$OUT/$1/vllm.log" $PLAN_ARGS --model "$2" --json > "$OUT/$1/explain.json" 2>&1
}

measure() {  # DIR NAME flags...
  local dir=$1 name=$2; shift 2
  "${PYTHON[@]}" benchmarks/gpu/measure.py --url "$URL" --model "$name" $PLAN_ARGS "$@" \
    "${QUICK_FLAG[@]}" --out "$OUT/$dir" 2>&1 | tee "$OUT/$dir/measure.txt"
}

mkdir -p "$OUT" "$MODELS"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/machine.txt" 2>&1
for name in "$@"; do
  if [ "$name" = scarce ]; then
    # 96 users of 455 + 400 tokens against 2,048 blocks of 16 (32,768 tokens): vLLM admits what
    # fits, preempts as answers grow and queues the rest
    dir=scarce; model=Qwen/Qwen3-8B
    [ -d "$MODELS/qwen3-8b" ] || "${PYTHON[@]}" benchmarks/gpu/make_models.py "$MODELS" "$model"
    MODEL_DIR=$MODELS/qwen3-8b serve $dir $model --num-gpu-blocks-override 2048 --max-model-len 4096 \
      && { explain $dir $model
           "${SC[@]}" bench --url "$URL" --model "$model" --endpoint completions --users 8 \
             --prompt-tokens 64 --output-tokens 16 --output "$OUT/$dir/warmup.jsonl" --json \
             > /dev/null 2>&1
           "${SC[@]}" bench --url "$URL" --model "$model" --endpoint completions --users 96 \
             --prompt-tokens 455 --output-tokens 400 --metrics-interval 0.25 \
             --output "$OUT/$dir/target.jsonl" --json > "$OUT/$dir/target.json" 2> "$OUT/$dir/target.err"; }
    stop
    continue
  fi
  dir=$(basename "$name" | tr '[:upper:]' '[:lower:]')
  [ -n "${MODEL_DIR:-}" ] || [ -d "$MODELS/$dir" ] \
    || "${PYTHON[@]}" benchmarks/gpu/make_models.py "$MODELS" "$name"
  serve "$dir" "$name" && { explain "$dir" "$name"; measure "$dir" "$name"; }
  stop
done
ls -la "$OUT"/*
