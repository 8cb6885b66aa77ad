"""The simulator, calibrated on small runs of real vLLM, predicts a different, harder run.

Calibration: 36 requests over 12 streams with mixed lengths and plentiful KV. Prediction: 40
users at once with 400-token answers on 64 KV blocks, so vLLM admits what fits, preempts as
answers grow and queues the rest (benchmarks/sim_accuracy.py prints the same comparison in full).

Asserted, as the issue asks: peak running within 1, preemptions within 3, and TTFT p50/p95,
E2E p50/p95 and output throughput within 15%. This machine's speed drifts: for seconds to
minutes a step takes up to twice as long. So calibration and target alternate, at least four
times and until three runs of each ran at the machine's usual speed (a median engine step
within 1.15x of the fastest run of the same workload); the others are set aside. Each steady
calibration run gets its own fit, and the median of the fits' predictions is compared with the
median of the steady target runs. The failure message shows each run's engine steps. A miss is
measured once more, all of it; the second attempt must then pass on its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

from vllm_servers import SCARCE_WIDE

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import sim_accuracy

LATENCY_TOLERANCE = 0.15
EXACT_WITHIN_ONE = ("peak running",)
WITHIN_TOLERANCE = ("TTFT p50", "TTFT p95", "E2E p50", "E2E p95", "output throughput")
ATTEMPTS = 2


def _check(result: sim_accuracy.Accuracy) -> tuple[list[str], str]:
    rows = {row.label: row for row in result.rows}
    table = "\n".join(
        f"{r.label}: measured {r.measured} predicted {r.predicted} error {r.error}"
        for r in result.rows
    )
    table += "\n" + sim_accuracy.steps_line(result)
    assert rows["preemptions"].measured, f"the target run must preempt\n{table}"
    assert rows["peak waiting"].measured, f"the target run must queue\n{table}"
    misses = []
    for label in EXACT_WITHIN_ONE:
        row = rows[label]
        assert row.measured is not None and row.predicted is not None, table
        if abs(row.predicted - row.measured) > 1:
            misses.append(label)
    if abs((rows["preemptions"].predicted or 0) - rows["preemptions"].measured) > 3:
        misses.append("preemptions")
    for label in WITHIN_TOLERANCE:
        error = rows[label].error
        if error is None or abs(error) > LATENCY_TOLERANCE:
            misses.append(label)
    return misses, table


def test_calibrated_simulation_predicts_a_scarce_kv_run(vllm_server, tmp_path):
    server = vllm_server(SCARCE_WIDE)
    assert SCARCE_WIDE.shape == sim_accuracy.SHAPE and SCARCE_WIDE.max_model_len == 2048
    for attempt in range(ATTEMPTS):
        folder = tmp_path / f"attempt{attempt}"
        folder.mkdir()
        result = sim_accuracy.measure_and_predict(server.url, server.model_dir, folder)
        misses, table = _check(result)
        print(f"attempt {attempt}:\n{table}")
        if not misses:
            break
    assert not misses, f"outside tolerance: {misses}\n{table}"
