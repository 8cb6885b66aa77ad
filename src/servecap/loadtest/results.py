"""Result files: one JSON object per line, each request written the moment it finishes.

    {"type": "run", ...}          once, first: what was run (never the API key)
    {"type": "request", ...}      one per finished request (RequestRecord.to_dict)
    {"type": "server", ...}       /metrics samples, as they are taken
    {"type": "client", ...}       the load generator's own lag measurements, one per step
    {"type": "end", "status": "complete" | "interrupted" | "failed", ...}

A run that is interrupted or crashes still leaves every finished request on disk, so
`servecap report` can rebuild its summary. Several files (several load generators against one
server) merge on a wall-clock axis: the run line pairs `wall_start` (time.time()) with
`clock_start`, the run's own clock (time.perf_counter, which means nothing across processes)
read at the same moment.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from ..errors import InvalidValueError
from ..vllm.metrics import ServerSample
from .records import RequestRecord
from .slo import SLO, parse_slo
from .summary import ClientView

# UTF-8 bytes, one object a line, straight to the file: no str round trip per request
_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE


class ResultWriter:
    """Appends lines and flushes each one, so nothing finished is ever lost.

    `clock` is the clock the records' times come from; without one (a simulation's own
    time), the file carries no anchor and merges as older files do.
    """

    def __init__(
        self, path: Path, meta: dict[str, Any], clock: Callable[[], float] | None = None
    ) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = path.open("wb")
        anchor = {"wall_start": time.time()}
        if clock is not None:
            anchor["clock_start"] = clock()
        self.write({"type": "run", **anchor, **meta})

    def write(self, obj: dict[str, Any]) -> None:
        # orjson writes NaN and infinities as null, which keeps every line valid JSON
        self._file.write(orjson.dumps(obj, option=_OPTIONS))
        self._file.flush()

    def request(self, record: RequestRecord) -> None:
        self.write({"type": "request", **record.to_dict()})

    def server(self, sample: ServerSample) -> None:
        self.write({"type": "server", **asdict(sample)})

    def close(self, status: str, **extra: Any) -> None:
        if not self._file.closed:
            self.write({"type": "end", "status": status, **extra})
            self._file.close()


@dataclass
class RunData:
    """Everything a result file (or several merged) holds."""

    meta: dict[str, Any] = field(default_factory=dict)
    records: list[RequestRecord] = field(default_factory=list)
    samples: list[ServerSample] = field(default_factory=list)
    clients: dict[str, list[ClientView]] = field(default_factory=dict)  # per step (phase)
    status: str = "interrupted"  # until an end line says otherwise
    sources: list[str] = field(default_factory=list)
    engine_steps: dict[str, int] = field(default_factory=dict)  # simulated runs, per phase

    @property
    def simulated(self) -> bool:
        return bool(self.meta.get("simulated"))

    @property
    def slos(self) -> list[SLO]:
        """The SLOs the run was made with (any the file holds that no longer parse are left out)."""
        slos = []
        for text in self.meta.get("slos") or []:
            try:
                slos.append(parse_slo(str(text)))
            except InvalidValueError:
                continue
        return slos


def read_results(paths: list[Path]) -> RunData:
    """Read one or more result files; several are merged on a shared wall-clock axis."""
    runs = [_read_one(p) for p in paths]
    if len(runs) == 1:
        return runs[0]
    if len({bool(run.meta.get("simulated")) for run in runs}) > 1:
        raise InvalidValueError(
            "some of these results are simulated and some measured: they are not one run",
            "set one beside the other with `servecap report MEASURED.jsonl --vs SIMULATED.jsonl`",
        )
    offsets = [_wall_offset(run) for run in runs]
    origin = min(run.meta.get("wall_start", 0.0) for run in runs)
    merged = RunData(meta={**runs[0].meta, "merged_from": [str(p) for p in paths]})
    merged.status = "complete" if all(r.status == "complete" for r in runs) else "interrupted"
    next_id = 0
    for run, offset in zip(runs, offsets, strict=True):
        shift = offset - origin
        for record in run.records:
            record.request_id = next_id
            next_id += 1
            _shift(record, shift)
            merged.records.append(record)
        if not merged.samples:  # one server, so one generator's samples describe it
            merged.samples = [
                ServerSample(**{**asdict(s), "time_s": s.time_s + shift}) for s in run.samples
            ]
        for phase, views in run.clients.items():
            merged.clients.setdefault(phase, []).extend(views)
        merged.sources += run.sources
    merged.records.sort(key=lambda r: r.send_s)
    return merged


def _wall_offset(run: RunData) -> float:
    """What to add to this run's clock readings to get wall-clock seconds.

    Files older than the clock anchor only have `wall_start`: their first send is taken to
    be that moment (a run sends its first request right after it starts).
    """
    wall_start = float(run.meta.get("wall_start", 0.0))
    if "clock_start" in run.meta:
        return wall_start - float(run.meta["clock_start"])
    first_send = min((r.send_s for r in run.records), default=0.0)
    return wall_start - first_send


def _shift(record: RequestRecord, shift: float) -> None:
    record.scheduled_s += shift
    record.send_s += shift
    record.first_token_s = None if record.first_token_s is None else record.first_token_s + shift
    record.end_s = None if record.end_s is None else record.end_s + shift
    record.chunk_times_s = [t + shift for t in record.chunk_times_s]


def _read_one(path: Path) -> RunData:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidValueError(
            f"cannot read result file {path}: {exc.strerror}",
            "pass a .jsonl file written by servecap bench",
        ) from None
    except UnicodeDecodeError as exc:
        raise InvalidValueError(
            f"result file {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
            f"offset {exc.start}), so servecap bench did not write it",
            "pass a .jsonl file written by servecap bench",
        ) from None
    run = RunData(sources=[str(path)])
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break  # a line cut short by a crash: everything before it is intact
            raise InvalidValueError(
                f"{path}:{number} is not a servecap result line",
                "pass a .jsonl file written by servecap bench",
            ) from None
        kind = obj.pop("type", None)
        if kind == "run":
            run.meta = obj
        elif kind == "request":
            for derived in ("ttft_s", "e2e_s", "tpot_s"):
                obj.pop(derived, None)
            run.records.append(RequestRecord.from_dict(obj))
        elif kind == "server":
            run.samples.append(ServerSample(**obj))
        elif kind == "client":  # files before per-step client lines have one, without phase
            phase = str(obj.pop("phase", ""))
            run.clients.setdefault(phase, []).append(ClientView.from_dict(obj))
        elif kind == "end":
            run.status = obj.get("status", "complete")
            steps = obj.get("engine_steps")
            if isinstance(steps, dict):
                run.engine_steps = {str(k): int(v) for k, v in steps.items() if type(v) is int}
    if not run.meta:
        raise InvalidValueError(
            f"{path} is not a servecap result file", "pass a .jsonl file written by servecap bench"
        )
    return run
