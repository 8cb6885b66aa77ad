"""How much load each benchmark client can generate before it, not the server, is the bottleneck.

servecap bench, GuideLLM and `vllm bench serve` each run on one core (`taskset -c 1`) against
one fast local streaming server on another core (`taskset -c 0`). The server is a minimal
asyncio HTTP/1.1 server whose timing is scripted and exact: every completion streams its first
token TTFT after the request has been read, then one token every GAP. It records, on its own
clock, when each request arrived, when each token was written and how late any write was, so
the clients are judged against the server's known timing, not against their own reports.

Two searches per client, each over doubling load levels, then one geometric bisection step:

* rate: constant-rate arrivals (servecap --burstiness 1e6, vLLM --burstiness inf, GuideLLM
  kind=constant). Lag = the larger of
  - send lag p95: how late requests reached the server against the ideal evenly spaced
    schedule (arrival_i - (t0 + i/rate), t0 fitted so the earliest request is on time); and
  - receive lag p95: the client's own TTFT p95 minus the server's true TTFT p95.
* concurrency: closed loop with N streams. Lag = the larger of
  - turnaround p95: on the server, the gap between a request finishing and the next request
    arriving (the k-th completion releases the (N+k)-th request); and
  - receive lag p95, as above.
  The first 10% of requests (process start-up, first connections) are left out of the send
  lag and the turnaround.

A level is "sustained" when the client's lag stays at or below 5 ms and every request
succeeded. It counts only if the server itself kept to its script: its first tokens no more than
1 ms late, and no token 5 ms late (p95 over requests). On a shared machine a disturbed level is
measured again (up to 3 times, after a pause) and a failed one once more, and the server and the
clients run at niceness -10 (--nice).

TTFT error = the client's median TTFT minus the server's true median TTFT, at the lightest
level and at the client's highest sustained one.

The tool "aiohttp" (benchmarks/bare_aiohttp.py) is a reference: an aiohttp client that only sends
requests and reads streams, so what it sustains is roughly what aiohttp itself allows here.

Usage: python benchmarks/client_overhead.py [--quick] [--tools servecap,vllm,guidellm,aiohttp]
(the server alone: python benchmarks/client_overhead.py serve --port 8123)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers

MODEL = "fast-model"
FIRST_TOKEN_S = [0.02]  # the server's scripted TTFT, set by main()
LAG_LIMIT_S = 0.005
SERVER_LATE_LIMIT_S = 0.001

# ---------------------------------------------------------------- the server


class PreciseEpollSelector(selectors.EpollSelector):
    """epoll waits in whole milliseconds (rounded up), so timers could fire up to 1 ms late;
    this sleeps until ~1.5 ms before the deadline and then polls, for ~10 us timer precision
    (the server owns its core, so the short spin costs nothing)."""

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is None or timeout <= 0:
            return super().select(timeout)
        deadline = time.monotonic() + timeout
        if timeout > 0.0015:
            ready = super().select(timeout - 0.0015)
            if ready:
                return ready
        while True:
            ready = super().select(0)
            if ready or time.monotonic() >= deadline:
                return ready


@dataclass
class ServerStats:
    arrivals: list[float] = field(default_factory=list)  # request fully read (monotonic)
    ttfts: list[float] = field(default_factory=list)  # arrival -> first token written
    finishes: list[float] = field(default_factory=list)  # last byte written
    late: list[float] = field(default_factory=list)  # worst write lateness per request
    max_in_flight: int = 0
    in_flight: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "arrivals": self.arrivals,
            "ttfts": self.ttfts,
            "finishes": self.finishes,
            "late": self.late,
            "max_in_flight": self.max_in_flight,
        }


class FastServer(asyncio.Protocol):
    """HTTP/1.1 keep-alive, Content-Length request bodies, chunked SSE responses."""

    ttft_s = 0.02
    gap_s = 0.01
    stats = ServerStats()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""
        self.loop = asyncio.get_running_loop()
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            method, path = head[0].split(" ")[:2]
            self.handle(method, path.split("?")[0], body)

    def reply(self, status: str, body: bytes, ctype: str = "application/json") -> None:
        self.transport.write(
            f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            "Connection: keep-alive\r\n\r\n".encode()
            + body
        )

    def handle(self, method: str, path: str, body: bytes) -> None:
        stats = FastServer.stats
        if path == "/v1/models":
            data = {"object": "list", "data": [{"id": MODEL, "object": "model"}]}
            self.reply("200 OK", json.dumps(data).encode())
        elif path == "/health":
            self.reply("200 OK", b"")
        elif path == "/stats":
            self.reply("200 OK", json.dumps(stats.to_dict()).encode())
        elif path == "/reset":
            FastServer.stats = ServerStats()
            self.reply("200 OK", b"{}")
        elif method == "POST" and path in ("/v1/completions", "/v1/chat/completions"):
            self.stream(json.loads(body or b"{}"), path.endswith("chat/completions"))
        else:
            self.reply("404 Not Found", b'{"error": "not found"}')

    def stream(self, request: dict[str, Any], chat: bool) -> None:
        arrival = self.loop.time()
        stats = FastServer.stats
        stats.arrivals.append(arrival)
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        tokens = int(request.get("max_tokens") or request.get("max_completion_tokens") or 16)
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
        )
        if chat:
            token = b'{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" tok"},"finish_reason":null}]}'  # noqa: E501
            last = b'{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" tok"},"finish_reason":"length"}]}'  # noqa: E501
        else:
            token = b'{"id":"x","object":"text_completion","choices":[{"index":0,"text":" tok","finish_reason":null}]}'  # noqa: E501
            last = b'{"id":"x","object":"text_completion","choices":[{"index":0,"text":" tok","finish_reason":"length"}]}'  # noqa: E501
        usage = json.dumps(
            {
                "id": "x",
                "choices": [],
                "usage": {"prompt_tokens": 64, "completion_tokens": tokens, "total_tokens": 64},
            }
        ).encode()
        worst = [0.0]

        def send(data: bytes) -> None:
            payload = b"data: " + data + b"\n\n"
            self.transport.write(b"%x\r\n%b\r\n" % (len(payload), payload))

        def emit(i: int) -> None:
            now = self.loop.time()
            due = arrival + FastServer.ttft_s + i * FastServer.gap_s
            worst[0] = max(worst[0], now - due)
            if self.transport.is_closing():
                stats.in_flight -= 1
                return
            if i == 0:
                stats.ttfts.append(now - arrival)
            if i < tokens - 1:
                send(token)
                self.loop.call_at(due + FastServer.gap_s, emit, i + 1)
                return
            send(last)
            send(usage)
            send(b"[DONE]")
            self.transport.write(b"0\r\n\r\n")
            stats.finishes.append(self.loop.time())
            stats.late.append(worst[0])
            stats.in_flight -= 1

        self.loop.call_at(arrival + FastServer.ttft_s, emit, 0)


def serve(port: int, ttft_s: float, gap_s: float) -> None:
    FastServer.ttft_s, FastServer.gap_s = ttft_s, gap_s
    loop = asyncio.SelectorEventLoop(PreciseEpollSelector())
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(FastServer, "127.0.0.1", port, backlog=4096, reuse_address=True)
    )
    print(f"serving on 127.0.0.1:{port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        loop.run_forever()
    server.close()


# ---------------------------------------------------------------- measuring one load level


@dataclass
class Level:
    tool: str
    load: float  # requests/s or streams
    requests: int
    ok: int = 0
    lag_s: float = math.inf
    send_lag_s: float | None = None  # rate: late arrivals; concurrency: turnaround
    recv_lag_s: float | None = None
    ttft_error_s: float | None = None
    server_late_s: float = 0.0  # p95 of (true TTFT - scripted TTFT)
    server_chunk_late_s: float = 0.0  # p95 over requests of the latest token write
    error: str | None = None

    @property
    def server_bound(self) -> bool:
        """The server did not keep to its script: its first tokens went out late, or its loop
        stalled mid-stream as long as the lag limit (another job took its core)."""
        return self.server_late_s > SERVER_LATE_LIMIT_S or self.server_chunk_late_s > LAG_LIMIT_S

    @property
    def sustained(self) -> bool:
        return self.error is None and self.ok == self.requests and self.lag_s <= LAG_LIMIT_S

    def line(self) -> str:
        def ms(v: float | None) -> str:
            return "-" if v is None or math.isinf(v) else f"{v * 1000:.2f}"

        verdict = (
            "server-bound"
            if self.server_bound
            else ("ok" if self.sustained else f"FAIL{': ' + self.error if self.error else ''}")
        )
        return (
            f"  {self.tool:<9} load {self.load:>7g}  n={self.requests:<5} ok={self.ok:<5} "
            f"lag {ms(self.lag_s):>7} ms (send/turnaround {ms(self.send_lag_s)}, "
            f"receive {ms(self.recv_lag_s)})  ttft err {ms(self.ttft_error_s)} ms  "
            f"server late p95 {ms(self.server_late_s)} ms (any token "
            f"{ms(self.server_chunk_late_s)})  {verdict}"
        )


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read() or b"null")


def _p(values: list[float], q: float) -> float:
    return float(np_percentile(values, q)) if values else math.nan


def np_percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))


def _steady(values: list[float]) -> list[float]:
    """Leave out the first 10% (start-up: process spawn, first connections)."""
    return values[len(values) // 10 :]


def send_lag(arrivals: list[float], rate: float) -> float:
    """p95 of how late requests reached the server against an evenly spaced schedule."""
    a = sorted(arrivals)
    ideal = [t - i / rate for i, t in enumerate(a)]
    t0 = min(ideal)
    return _p(_steady([x - t0 for x in ideal]), 95)


def turnaround(arrivals: list[float], finishes: list[float], streams: int) -> float:
    """p95 of the gap between a response ending and the next request of the loop arriving."""
    a, f = sorted(arrivals), sorted(finishes)
    gaps = [a[streams + k] - f[k] for k in range(len(a) - streams)]
    return _p(_steady(gaps), 95) if gaps else math.nan


@dataclass
class Setup:
    url: str
    out: Path
    tokenizer: str
    vllm_python: str
    peers_python: str
    output_tokens: int
    prompt_tokens: int = 64


def run_bare(setup: Setup, workload: peers.Workload, out_dir: Path) -> dict[str, Any]:
    """bare_aiohttp.py, the reference aiohttp loop, on core 1 like the other clients."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result = out_dir / "bare.json"
    argv = [sys.executable, str(Path(__file__).with_name("bare_aiohttp.py"))]
    argv += ["--url", setup.url, "--model", MODEL, "--requests", str(workload.requests)]
    argv += ["--output-tokens", str(workload.output_tokens), "--out", str(result)]
    if workload.concurrency is not None:
        argv += ["--concurrency", str(workload.concurrency)]
    else:
        argv += ["--rate", f"{workload.rate:g}"]
    peers._run(peers._pinned(argv, "1"), out_dir, 300)
    return dict(json.loads(result.read_text()))


def run_tool(setup: Setup, tool: str, workload: peers.Workload, out_dir: Path) -> dict[str, Any]:
    common = {"cpus": "1", "timeout": 300}
    if tool == "aiohttp":
        return run_bare(setup, workload, out_dir)
    if tool == "servecap":
        return peers.run_servecap(setup.url, MODEL, workload, out_dir, **common)  # type: ignore[arg-type]
    if tool == "vllm":
        return peers.run_vllm_bench(
            setup.url,
            MODEL,
            workload,
            out_dir,
            python=setup.vllm_python,
            tokenizer=setup.tokenizer,
            **common,  # type: ignore[arg-type]
        )
    return peers.run_guidellm(
        setup.url,
        MODEL,
        workload,
        out_dir,
        python=setup.peers_python,
        tokenizer=setup.tokenizer,
        **common,  # type: ignore[arg-type]
    )


def measure(setup: Setup, tool: str, mode: str, load: float, requests: int) -> Level:
    workload = peers.Workload(
        requests=requests,
        prompt_tokens=setup.prompt_tokens,
        output_tokens=setup.output_tokens,
        concurrency=int(load) if mode == "concurrency" else None,
        rate=load if mode == "rate" else None,
    )
    level = Level(tool, load, requests)
    _get(setup.url + "/reset")
    out_dir = setup.out / f"{tool}-{mode}-{load:g}"
    shutil.rmtree(out_dir, ignore_errors=True)
    try:
        result = run_tool(setup, tool, workload, out_dir)
    except (peers.PeerError, subprocess.TimeoutExpired, KeyError, ValueError) as exc:
        level.error = str(exc).splitlines()[0][:160]
        return level
    stats = _get(setup.url + "/stats")
    level.ok = int(result["requests_ok"])
    # the server's own timing, where the clients measure it: how late its first tokens went
    level.server_late_s = _p(stats["ttfts"], 95) - FIRST_TOKEN_S[0]
    level.server_chunk_late_s = _p(stats["late"], 95)
    ttfts = result["ttfts_s"]
    if not ttfts:
        level.error = "no TTFTs"
        return level
    # against the server's true TTFTs (scripted, plus its own rare lateness)
    level.ttft_error_s = statistics.median(ttfts) - statistics.median(stats["ttfts"])
    level.recv_lag_s = _p(ttfts, 95) - _p(stats["ttfts"], 95)
    if mode == "rate":
        level.send_lag_s = send_lag(stats["arrivals"], load)
    else:
        level.send_lag_s = turnaround(stats["arrivals"], stats["finishes"], int(load))
    level.lag_s = max(level.recv_lag_s, level.send_lag_s)
    return level


def search(
    setup: Setup, tool: str, mode: str, levels: list[float], count: Any, log: list[Level]
) -> tuple[float | None, str, list[Level]]:
    """Highest sustained load: doubling levels, a retry of the first failure, one bisection."""

    def attempt(load: float) -> Level:
        """Measure; again (after a pause) while the server was disturbed, at most 3 times;
        a failure is measured once more, as noise on a shared machine."""
        failures, disturbed = 0, 0
        while True:
            level = measure(setup, tool, mode, load, count(load))
            note = "" if failures + disturbed == 0 else "  (again)"
            print(level.line() + note, flush=True)
            log.append(level)
            if level.sustained and not level.server_bound:
                return level
            if level.server_bound:
                disturbed += 1
                if disturbed > 3:
                    return level
                time.sleep(5)
                continue
            failures += 1
            if failures > 1:
                return level

    best: float | None = None
    failed: float | None = None
    note = ""
    tried: list[Level] = []
    for load in levels:
        level = attempt(load)
        tried.append(level)
        if level.server_bound:
            note = f"server-bound at {load:g}"
            break
        if not level.sustained:
            failed = load
            break
        best = load
    else:
        note = f"reached the top level {levels[-1]:g}"
    if best is not None and failed is not None:
        middle = math.sqrt(best * failed)
        middle = float(round(middle)) if mode == "concurrency" or middle >= 10 else middle
        if best < middle < failed:
            level = attempt(middle)
            tried.append(level)
            if level.sustained:
                best = middle
    return best, note, tried


# ---------------------------------------------------------------------------------- main

RATES = [12.5, 25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0]
STREAMS = [4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0]
NAMES = {
    "servecap": "servecap",
    "vllm": "vllm bench serve",
    "guidellm": "GuideLLM",
    "aiohttp": "bare aiohttp",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(port: int, ttft_s: float, gap_s: float) -> subprocess.Popen[bytes]:
    argv = [sys.executable, __file__, "serve", "--port", str(port)]
    argv += ["--ttft-ms", f"{ttft_s * 1000:g}", "--gap-ms", f"{gap_s * 1000:g}"]
    proc = subprocess.Popen(["taskset", "-c", "0", *argv], start_new_session=True)
    for _ in range(100):
        with contextlib.suppress(OSError):
            _get(f"http://127.0.0.1:{port}/v1/models")
            return proc
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the fast server did not start")


def _ms(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value * 1000:+.2f}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a and b else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tools", default="servecap,vllm,guidellm")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter levels")
    parser.add_argument("--ttft-ms", type=float, default=20.0)
    parser.add_argument("--gap-ms", type=float, default=10.0)
    parser.add_argument("--output-tokens", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=2.5, help="of arrivals per rate level")
    parser.add_argument("--out", type=Path, default=None, help="keep every tool's output here")
    parser.add_argument(
        "--nice",
        type=int,
        default=-10,
        help="niceness for the server and the clients (inherited), so that other jobs on a "
        "shared machine disturb them less; negative values need root [default: -10]",
    )
    args = parser.parse_args()
    if args.nice:
        try:
            os.nice(args.nice)
        except PermissionError:
            print(f"cannot set niceness {args.nice} (not root): running at the default")
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if os.cpu_count() is None or (os.cpu_count() or 0) < 2:
        raise SystemExit("needs two cores: the server on core 0, the client on core 1")

    from servecap.tinymodel import write_tiny_model

    out = args.out or Path(tempfile.mkdtemp(prefix="client-overhead-"))
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = str(write_tiny_model(out / "tokenizer-model"))  # a local tokenizer, no hub
    vllm_python = peers.setup_vllm() if "vllm" in tools else ""
    peers_python = peers.setup_peers() if "guidellm" in tools else ""
    port = _free_port()
    ttft_s, gap_s = args.ttft_ms / 1000, args.gap_ms / 1000
    FIRST_TOKEN_S[0] = ttft_s
    server = _start_server(port, ttft_s, gap_s)
    setup = Setup(
        f"http://127.0.0.1:{port}", out, tokenizer, vllm_python, peers_python, args.output_tokens
    )
    rates = RATES[:4] if args.quick else RATES
    streams = STREAMS[:4] if args.quick else STREAMS
    seconds = args.seconds / 2 if args.quick else args.seconds
    request_s = ttft_s + (args.output_tokens - 1) * gap_s
    print(
        f"server: core 0, TTFT {args.ttft_ms:g} ms, then {args.output_tokens - 1} more tokens "
        f"every {args.gap_ms:g} ms ({request_s * 1000:.0f} ms a request); clients: core 1; "
        f"lag limit {LAG_LIMIT_S * 1000:g} ms; results under {out}",
        flush=True,
    )
    summary: dict[str, dict[str, Any]] = {}
    log: list[Level] = []
    started = time.perf_counter()
    try:
        for tool in tools:
            print(f"{NAMES[tool]}: request rate", flush=True)
            rate, rate_note, rate_levels = search(
                setup, tool, "rate", rates, lambda r: max(50, round(r * seconds)), log
            )
            print(f"{NAMES[tool]}: concurrent streams", flush=True)
            conc, conc_note, conc_levels = search(
                setup,
                tool,
                "concurrency",
                streams,
                # every stream runs about 4 requests back to back
                lambda n: max(64, int(n) * (2 if args.quick else 4)),
                log,
            )
            light = rate_levels[0] if rate_levels else None
            at_rate = next((lv for lv in rate_levels if lv.load == rate and lv.sustained), None)
            at_conc = next((lv for lv in conc_levels if lv.load == conc and lv.sustained), None)
            summary[tool] = {
                "rate": rate,
                "rate_note": rate_note,
                "streams": conc,
                "streams_note": conc_note,
                "ttft_error_light": light.ttft_error_s if light else None,
                "ttft_error_at_rate": at_rate.ttft_error_s if at_rate else None,
                "ttft_error_at_streams": at_conc.ttft_error_s if at_conc else None,
            }
    finally:
        os.killpg(server.pid, 15)
        server.wait(10)
    elapsed = time.perf_counter() - started

    headers = (
        "client",
        "max rate (req/s)",
        "max streams",
        f"TTFT error @{rates[0]:g}/s (ms)",
        "@max rate (ms)",
        "@max streams (ms)",
    )
    rows = [headers]
    for tool, s in summary.items():
        rows.append(
            (
                NAMES[tool],
                "-" if s["rate"] is None else f"{s['rate']:g}",
                "-" if s["streams"] is None else f"{s['streams']:g}",
                _ms(s["ttft_error_light"]),
                _ms(s["ttft_error_at_rate"]),
                _ms(s["ttft_error_at_streams"]),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(headers))]
    print()
    print(
        f"Highest load each client sustains with its own lag <= {LAG_LIMIT_S * 1000:g} ms "
        f"(one core each; {elapsed:.0f} s in all)"
    )
    for i, row in enumerate(rows):
        print("  ".join(c.rjust(w) if i else c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    notes = [
        f"{NAMES[t]}: {s['rate_note'] or ''} {s['streams_note'] or ''}".strip()
        for t, s in summary.items()
        if s["rate_note"] or s["streams_note"]
    ]
    for note in notes:
        if note.split(":", 1)[1].strip():
            print(f"  note: {note}")
    me = summary.get("servecap")
    for peer in ("vllm", "guidellm", "aiohttp"):
        other = summary.get(peer)
        if me and other:
            print(
                f"servecap / {NAMES[peer]}: rate {_ratio(me['rate'], other['rate'])}, "
                f"streams {_ratio(me['streams'], other['streams'])}"
            )
    vllm = summary.get("vllm")
    if me and vllm:
        errors_ok = abs(me["ttft_error_light"] or 0) <= abs(vllm["ttft_error_light"] or 0) + 1e-4
        target = (
            (me["rate"] or 0) >= 2 * (vllm["rate"] or math.inf)
            and (me["streams"] or 0) >= 2 * (vllm["streams"] or math.inf)
            and errors_ok
        )
        print(
            "target (>= 2x vllm bench serve on both, TTFT error no larger): "
            + ("MET" if target else "NOT MET")
        )
    (out / "summary.json").write_text(
        json.dumps({"summary": summary, "levels": [vars(lv) for lv in log]}, indent=1)
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serving = argparse.ArgumentParser()
        serving.add_argument("serve")
        serving.add_argument("--port", type=int, required=True)
        serving.add_argument("--ttft-ms", type=float, default=20.0)
        serving.add_argument("--gap-ms", type=float, default=10.0)
        a = serving.parse_args()
        serve(a.port, a.ttft_ms / 1000, a.gap_ms / 1000)
    else:
        main()
