#!/bin/bash
# One vLLM 0.24 start-up at utilization 0.9 that logs its memory numbers in bytes, so that the
# plan can be compared beyond vLLM's two decimals (bytes/sitecustomize.py patches its formatter).
# On the H200, after `bash .gpu0/unpack.sh install`: bash benchmarks/gpu/bytes.sh OUT_DIR
# (gave benchmarks/gpu/h200/bytes-0.9.vllm.log)
cd "$(dirname "$0")/../.."
SITE=${SITE:-$HOME/vllm-site}
D=${1:-/tmp}
export PYTHONPATH=$PWD/benchmarks/gpu/bytes:$SITE VLLM_USE_FLASHINFER_SAMPLER=0 HF_HUB_OFFLINE=1
export VLLM_LOGGING_LEVEL=DEBUG
python3 -m vllm.entrypoints.openai.api_server --model "$SITE/qwen3-4b" --load-format dummy \
  --gpu-memory-utilization 0.9 --port 8011 > "$D/bytes-0.9.vllm.log" 2>&1 &
P=$!
for _ in $(seq 1 300); do
  grep -q "Starting vLLM server\|Application startup complete" "$D/bytes-0.9.vllm.log" && break
  kill -0 $P 2>/dev/null || break
  sleep 1
done
kill -TERM $P
wait $P
grep -E "bytes|KV cache size|Maximum concurrency" "$D/bytes-0.9.vllm.log"
