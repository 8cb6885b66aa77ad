"""Diagnostic: vLLM prints its memory numbers in bytes as well as GiB.

On PYTHONPATH (as benchmarks/gpu/bytes.sh puts it), Python imports this at start-up in every
vLLM process; vLLM formats every memory figure it logs with `vllm.utils.mem_utils.format_gib`.
"""

try:
    import vllm.utils.mem_utils as _mem

    _GiB = 1 << 30
    _mem.format_gib = lambda b: f"{round(b / _GiB, 2)} ({int(b)} bytes)"
except Exception as exc:  # a diagnostic must never stop the server
    print("sitecustomize: vLLM's memory figures stay in GiB:", exc)
