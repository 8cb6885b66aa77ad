"""A discrete-event simulation of one vLLM V1 engine serving a workload.

The scheduler follows `vllm/v1/core/sched/scheduler.py` (FCFS policy): every step it first
gives running requests their tokens (a decode token, or the next prefill chunk), allocating
KV blocks and preempting the most recently admitted request when blocks run out; only if
nothing was preempted does it admit waiting requests, front first, while the token budget,
`max_num_seqs` and free blocks allow. Preempted requests lose their KV and return to the
front of the queue to be recomputed; with prefix caching their freed full blocks stay cached
until evicted, so a recompute reuses what survived (`vllm/v1/core/block_pool.py`).

Time advances from event to event on an explicit clock: request arrivals (from the same load
profiles as `bench`) and engine steps, whose length comes from the step-time model.
"""

from __future__ import annotations

import heapq
import itertools
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ..loadtest.records import RequestRecord
from ..loadtest.runner import LoadProfile, arrival_times
from ..vllm.metrics import ServerSample
from .steptime import StepTimeModel


@dataclass(frozen=True)
class EngineConfig:
    """The scheduler's limits, as the memory plan resolved them."""

    num_blocks: int  # including vLLM's null block
    block_size: int
    max_num_seqs: int
    max_num_batched_tokens: int
    max_model_len: int
    prefix_caching: bool = True
    stream_latency_s: float = 0.0005  # API server and network, per streamed chunk


class SimRequest:
    __slots__ = (
        "arrival",
        "blocks",
        "chunks",
        "computed",
        "first",
        "generated",
        "id",
        "output",
        "prompt",
        "record",
        "tokens",
    )

    def __init__(self, rid: int, prompt: int, output: int, arrival: float) -> None:
        self.id = rid
        self.prompt = prompt
        self.output = output
        self.arrival = arrival
        self.computed = 0
        self.generated = 0
        self.tokens = prompt  # prompt + generated, the tokens the KV cache must hold
        self.blocks = 0
        self.first: float | None = None
        self.chunks: list[float] = []
        self.record: RequestRecord | None = None


class BlockPool:
    """Free blocks, plus blocks freed by preempted requests that stay cached until evicted."""

    def __init__(self, usable: int, prefix_caching: bool) -> None:
        self.usable = usable
        self.free = usable
        self.cached: OrderedDict[int, int] = OrderedDict()  # request id -> cached blocks
        self.cached_total = 0
        self.prefix_caching = prefix_caching

    @property
    def available(self) -> int:
        return self.free + self.cached_total

    @property
    def held(self) -> int:
        return self.usable - self.available

    def take(self, n: int) -> None:
        """Take n blocks, evicting the least recently cached ones when the free list is short."""
        from_free = min(n, self.free)
        self.free -= from_free
        need = n - from_free
        while need:
            rid, count = next(iter(self.cached.items()))
            evict = min(count, need)
            if evict == count:
                del self.cached[rid]
            else:
                self.cached[rid] = count - evict
            self.cached_total -= evict
            need -= evict

    def release(self, req: SimRequest, keep_cached: bool, block_size: int) -> None:
        full = min(req.blocks, req.computed // block_size)
        if keep_cached and self.prefix_caching and full:
            self.cached[req.id] = full
            self.cached_total += full
            self.free += req.blocks - full
        else:
            self.free += req.blocks
        req.blocks = 0

    def hits(self, req: SimRequest, block_size: int) -> int:
        """How many of a re-admitted request's blocks survive in the cache."""
        # one token must still be computed, so the last full block may not count
        return min(self.cached.get(req.id, 0), (req.tokens - 1) // block_size)

    def reclaim(self, req: SimRequest, hits: int) -> None:
        """Take back `hits` cached blocks of the request; the rest of its cache becomes free."""
        count = self.cached.pop(req.id, 0)
        self.cached_total -= count
        self.free += count - hits


def deliver_through_api_server(records: list[RequestRecord], chunk_s: float) -> None:
    """Delay chunks by the API server, a single FIFO worker spending `chunk_s` per chunk.

    vLLM's engine hands outputs to one API-server process, which detokenises and streams
    them one by one without slowing the engine down; under many streams it falls behind
    and tokens reach clients late and bunched. Exact for that model: d_i = max(e_i,
    d_(i-1)) + chunk_s over all chunks in emission order.
    """
    import numpy as np

    if chunk_s <= 0 or not records:
        return
    counts = [len(r.chunk_times_s) for r in records]
    if not sum(counts):
        return
    emitted = np.concatenate([np.asarray(r.chunk_times_s, dtype=float) for r in records])
    if emitted.size == 0:
        return
    order = np.argsort(emitted, kind="stable")
    ordered = emitted[order]
    # d_i = max over j <= i of (e_j - j * c) + (i + 1) * c
    steps = np.arange(1, ordered.size + 1) * chunk_s
    delivered_sorted = np.maximum.accumulate(ordered - (steps - chunk_s)) + steps
    delivered = np.empty_like(delivered_sorted)
    delivered[order] = delivered_sorted
    start = 0
    for record, count in zip(records, counts, strict=True):
        times = delivered[start : start + count].tolist()
        start += count
        record.chunk_times_s = times
        if times:
            record.first_token_s, record.end_s = times[0], times[-1]


@dataclass
class SimResult:
    records: list[RequestRecord]
    samples: list[ServerSample]
    steps: int
    preemptions: int
    sim_seconds: float


@dataclass
class Simulator:
    """One engine, one load profile, deterministic for given inputs."""

    config: EngineConfig
    steps: StepTimeModel
    sample_interval_s: float = 0.5
    clock: float = 0.0
    waiting: deque[SimRequest] = field(default_factory=deque)
    running: list[SimRequest] = field(default_factory=list)
    preemptions: int = 0
    step_count: int = 0

    def run(
        self,
        profile: LoadProfile,
        lengths: list[tuple[int, int]],
        seed: int = 0,
        on_record: Callable[[RequestRecord], None] | None = None,
        arrivals_s: list[float] | None = None,
    ) -> SimResult:
        """Serve `lengths` (prompt, output) as the profile releases them.

        `arrivals_s` replays given send times instead (a measured run, for calibration).
        """
        cfg = self.config
        pool = BlockPool(cfg.num_blocks - 1, cfg.prefix_caching)
        arrivals: list[tuple[float, int, int]] = []  # (time, seq, length index)
        seq = itertools.count()
        pending = deque(range(len(lengths)))
        closed_loop = profile.mode in ("single", "concurrency")
        deadline = profile.duration_s
        if arrivals_s is not None:
            for t, i in zip(arrivals_s, list(pending), strict=True):
                heapq.heappush(arrivals, (t, next(seq), i))
            pending.clear()
            closed_loop = False
        elif profile.mode == "users":
            for i in list(pending):
                heapq.heappush(arrivals, (0.0, next(seq), i))
            pending.clear()
        elif profile.mode == "rate":
            assert profile.rate is not None
            times = arrival_times(profile.rate, len(lengths), profile.burstiness, seed)
            for t, i in zip(times, list(pending), strict=False):
                if deadline is None or t <= deadline:
                    heapq.heappush(arrivals, (t, next(seq), i))
            pending.clear()
        else:
            slots = 1 if profile.mode == "single" else (profile.concurrency or 1)
            for _ in range(min(slots, len(pending))):
                heapq.heappush(arrivals, (0.0, next(seq), pending.popleft()))
        records: list[RequestRecord] = []
        self._samples: list[ServerSample] = []
        self._next_sample = 0.0
        # a request reaches the scheduler this long after it was sent (HTTP, tokenizing)
        latency = self.steps.profile.request_latency_s
        while arrivals or self.waiting or self.running:
            # admit every arrival that is due
            if not self.waiting and not self.running and arrivals:
                self.clock = max(self.clock, arrivals[0][0] + latency)
            while arrivals and arrivals[0][0] + latency <= self.clock:
                t, _, i = heapq.heappop(arrivals)
                prompt, output = lengths[i]
                req = SimRequest(i, prompt, output, t)
                self.waiting.append(req)
            self._sample_until(self.clock, pool.held, pool.usable)
            horizon = arrivals[0][0] + latency if arrivals else None
            finished = self._decode_run(pool, horizon)
            if finished is None:  # (an empty run result still ends the iteration)
                finished = self.step(pool)
            for req in finished:
                record = self._record(req)
                records.append(record)
                if on_record:
                    on_record(record)
                if closed_loop and pending and (deadline is None or self.clock < deadline):
                    heapq.heappush(arrivals, (self.clock, next(seq), pending.popleft()))
        self._next_sample = min(self._next_sample, self.clock)
        self._sample_until(self.clock, pool.held, pool.usable)
        records.sort(key=lambda r: r.request_id)
        deliver_through_api_server(records, self.steps.profile.api_chunk_s)
        return SimResult(records, self._samples, self.step_count, self.preemptions, self.clock)

    def _sample_until(self, t: float, held: int, usable: int) -> None:
        """The simulated /metrics readings due up to time t, with the current state."""
        while self._next_sample <= t:
            self._samples.append(
                ServerSample(
                    time_s=self._next_sample,
                    running=float(len(self.running)),
                    waiting=float(len(self.waiting)),
                    kv_cache_usage=held / usable if usable else 0.0,
                    preemptions=float(self.preemptions),
                    prefix_cache_queries=None,
                    prefix_cache_hits=None,
                    num_gpu_blocks=self.config.num_blocks,
                    block_size=self.config.block_size,
                )
            )
            self._next_sample += self.sample_interval_s

    def _record(self, req: SimRequest) -> RequestRecord:
        chunks = req.chunks  # already include the streaming latency
        return RequestRecord(
            request_id=req.id,
            scheduled_s=req.arrival,
            send_s=req.arrival,
            first_token_s=chunks[0] if chunks else None,
            end_s=chunks[-1] if chunks else None,
            chunk_times_s=chunks,
            prompt_tokens=req.prompt,
            output_tokens=req.generated,
            requested_output_tokens=req.output,
            token_source="usage",
        )

    def step(self, pool: BlockPool) -> list[SimRequest]:
        """Schedule one step, advance the clock by its duration, and apply its results."""
        cfg = self.config
        bs = cfg.block_size
        budget = cfg.max_num_batched_tokens
        decodes: list[SimRequest] = []  # one token each: the common case, kept lean
        chunks: list[tuple[SimRequest, int]] = []  # prefill chunks (and re-admitted decodes)
        preempted = False
        i = 0
        max_len = cfg.max_model_len
        running = self.running
        # decodes' context is summed as they are scheduled (preemption only pops requests not
        # yet scheduled, from the end of the running list)
        decode_context = 0
        while i < len(running) and budget > 0:
            req = running[i]
            computed = req.computed
            if req.tokens - computed == 1 and computed < max_len:
                n = 1  # a decode: a new block only at a block boundary
                need = 1 if computed >= req.blocks * bs else 0
            else:
                n = min(req.tokens - computed, budget, max_len - computed)
                if n <= 0:
                    i += 1
                    continue
                need = -(-(computed + n) // bs) - req.blocks
            if need > 0:
                victim = None
                while need > pool.available:
                    victim = running.pop()
                    self._preempt(victim, pool)
                    preempted = True
                    if victim is req:
                        break
                if victim is req:
                    break
                pool.take(need)
                req.blocks += need
            if n == 1 and computed == req.tokens - 1:
                decodes.append(req)
                decode_context += computed + 1
            else:
                chunks.append((req, n))
            budget -= n
            i += 1
        if not preempted:
            while budget > 0 and self.waiting and len(self.running) < cfg.max_num_seqs:
                req = self.waiting[0]
                hits = pool.hits(req, bs) if pool.prefix_caching else 0
                n = min(req.tokens - hits * bs, budget)
                need = -(-(hits * bs + n) // bs) - hits
                if need > pool.available - hits:
                    break
                pool.reclaim(req, hits)
                req.blocks, req.computed = hits, hits * bs
                if need > 0:
                    pool.take(need)
                    req.blocks += need
                self.waiting.popleft()
                self.running.append(req)
                chunks.append((req, n))
                budget -= n
        if not decodes and not chunks:
            if self.waiting and not self.running:
                raise RuntimeError("a waiting request can never fit the KV cache")
            return []
        # a decode attends over its whole context once; chunks are few, so summed here
        decode = len(decodes)
        prefill = 0
        context = decode_context
        pairs: float = decode_context
        for req, n in chunks:
            computed = req.computed
            if n == 1 and computed == req.tokens - 1:  # a re-admitted request's last token
                decode += 1
                context += computed + 1
                pairs += computed + 1
            else:
                prefill += n
                context += computed + n
                pairs += n * (computed + (n + 1) / 2)
        self.clock += self.steps.step_s(prefill, decode, context, pairs)
        self.step_count += 1
        finished: list[SimRequest] = []
        emitted = self.clock + cfg.stream_latency_s
        for req in decodes:
            req.computed += 1
            req.generated += 1
            req.tokens += 1
            req.chunks.append(emitted)
            if req.generated >= req.output:
                finished.append(req)
        for req, n in chunks:
            req.computed += n
            if req.computed >= req.tokens:
                req.generated += 1
                req.tokens += 1
                req.chunks.append(emitted)
                if req.generated >= req.output:
                    finished.append(req)
        if finished:
            done = set(finished)
            self.running = [r for r in self.running if r not in done]
            for req in finished:
                pool.release(req, keep_cached=False, block_size=bs)
        return finished

    def _decode_run(self, pool: BlockPool, horizon: float | None) -> list[SimRequest] | None:
        """Several pure-decode steps at once, when nothing can change the batch meanwhile.

        Valid while every running request decodes one token per step, no request finishes
        or runs out of context before the last of them, the free blocks cover every block
        boundary crossed, no arrival is due, and the waiting queue's head cannot be
        admitted. The result equals stepping one by one; it is just faster. Returns None
        when these conditions do not hold (then `_step` runs one ordinary step).
        """
        cfg = self.config
        running = self.running
        n = len(running)
        if n == 0 or n > cfg.max_num_batched_tokens:
            return None
        last = running[-1]  # newly admitted requests join at the end: check it first
        if last.computed != last.tokens - 1:
            return None
        bs = cfg.block_size
        k = cfg.max_model_len
        max_len = cfg.max_model_len
        for req in running:
            computed = req.computed
            if computed != req.tokens - 1:
                return None
            left = req.output - req.generated
            if left < k:
                k = left
            if max_len - computed < k:
                k = max_len - computed
        if k < 2:
            return None

        def blocks_for(steps: int) -> int:
            """New blocks the running requests need for `steps` more tokens each."""
            total = 0
            for r in running:
                more = -(-(r.computed + steps) // bs) - r.blocks
                if more > 0:
                    total += more
            return total

        if self.waiting and n < cfg.max_num_seqs:
            head = self.waiting[0]
            hits = pool.hits(head, bs) if pool.prefix_caching else 0
            first = min(head.tokens - hits * bs, cfg.max_num_batched_tokens - n)
            need = -(-(hits * bs + first) // bs) - hits
            # free blocks only shrink during a run, so the first step is the head's best chance
            if need <= pool.available - hits - blocks_for(1):
                return None

        if blocks_for(k) > pool.available:
            lo, hi = 0, k  # largest step count whose new blocks still fit
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if blocks_for(mid) <= pool.available:
                    lo = mid
                else:
                    hi = mid
            k = lo
            if k < 2:
                return None
        context = sum(r.computed + 1 for r in running)
        model = self.steps
        times: list[float] = []
        now = self.clock
        lat = cfg.stream_latency_s
        for j in range(k):
            ctx = context + j * n
            now += model.step_s(0, n, ctx, ctx)
            times.append(now + lat)
            if horizon is not None and now >= horizon:
                k = j + 1
                break
        if k < 2:
            return None
        # readings taken during the run see it running, with the KV it holds by then; those
        # due by the end of its last step are the main loop's (they see who finished)
        held_before = pool.held
        for j, t in enumerate(times[:-1]):
            if self._next_sample <= t - lat:
                self._sample_until(t - lat, held_before + blocks_for(j + 1), pool.usable)
        new_blocks = blocks_for(k)
        if new_blocks:
            pool.take(new_blocks)
        finished = []
        for req in running:
            blocks = -(-(req.computed + k) // bs)
            if blocks > req.blocks:
                req.blocks = blocks
            req.computed += k
            req.generated += k
            req.tokens += k
            req.chunks.extend(times)
            if req.generated >= req.output:
                finished.append(req)
        self.clock = times[-1] - lat
        self.step_count += k
        if finished:
            done = set(finished)
            self.running = [r for r in running if r not in done]
            for req in finished:
                pool.release(req, keep_cached=False, block_size=bs)
        return finished

    def _preempt(self, req: SimRequest, pool: BlockPool) -> None:
        pool.release(req, keep_cached=True, block_size=self.config.block_size)
        req.computed = 0
        self.preemptions += 1
        self.waiting.appendleft(req)
