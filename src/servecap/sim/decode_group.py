"""The decode fast path: running requests that decode one token every step move as one group,
so a decode step costs the same for 1 or 256 requests. It gives exactly the step-by-step
result (`Simulator(..., fast_decode=False)` runs without it; a test compares the two).
"""

from __future__ import annotations

import bisect
import heapq
from typing import Protocol

from .blocks import BlockPool
from .request import SimRequest
from .scheduler import Chunks, Scheduler
from .steptime import StepTimeModel


class Timeline(Protocol):
    """The simulated /metrics readings, taken as the clock passes them."""

    next_s: float

    def until(self, t: float) -> None: ...


class DecodeGroup:
    """Running requests that decode one token every step, advanced without touching each.

    A member's counters (`computed`, `generated`, `tokens`, `blocks`, `chunks`) keep their
    values from the group step it joined at; leaving adds the steps taken since. A member
    needs a new block when its KV fills one, which recurs with the step number modulo the
    block size, so members are counted by that phase; and they are kept in a heap by the
    step they leave at (finished, or at the context limit).
    """

    def __init__(self, block_size: int, max_model_len: int) -> None:
        self.block_size = block_size
        self.max_model_len = max_model_len
        self.emitted: list[float] = []  # each group step's token emission time
        self.members: list[tuple[int, int, SimRequest]] = []  # (last step, admitted, request)
        self.context = 0  # the members' decodes read this many KV tokens next step
        self.phases = [0] * block_size

    def join(self, req: SimRequest) -> None:
        now = len(self.emitted)
        steps = min(req.output - req.generated, self.max_model_len - req.computed)
        heapq.heappush(self.members, (now + steps - 1, req.admitted, req))
        req.since = now
        self.context += req.computed + 1
        self.phases[(now - req.computed) % self.block_size] += 1

    def blocks_due(self) -> int:
        """The new blocks the members need in the next step."""
        return self.phases[len(self.emitted) % self.block_size]

    def advance(self, emitted: float) -> list[SimRequest]:
        """One step in which every member decodes; returns those whose last step it was."""
        self.emitted.append(emitted)
        self.context += len(self.members)
        return self._leaving()

    def decode_alone(
        self, clock: float, until: float, model: StepTimeModel, latency: float, pool: BlockPool
    ) -> tuple[float, int, list[SimRequest]]:
        """Steps in which only the members run, from `clock` until one of them leaves, the
        clock reaches `until`, or the members' new blocks do not fit.

        Returns the clock, the number of steps and the members that left.
        """
        size = len(self.members)
        last = self.members[0][0]
        context = self.context
        start = step = len(self.emitted)
        while True:
            need = self.phases[step % self.block_size]
            if need:
                if need > pool.available:
                    break
                pool.take(need)
            clock += model.step_s(0, size, context, context)
            self.emitted.append(clock + latency)
            context += size
            step += 1
            if step > last or clock >= until:
                break
        self.context = context
        return clock, step - start, self._leaving()

    def _leaving(self) -> list[SimRequest]:
        """Take out the members whose last step was the latest one."""
        latest = len(self.emitted) - 1
        leaving = []
        while self.members and self.members[0][0] == latest:
            req = heapq.heappop(self.members)[2]
            self._leave(req)
            leaving.append(req)
        return leaving

    def dissolve(self) -> None:
        """Bring every member's counters up to date and empty the group."""
        for _, _, req in self.members:
            self._leave(req)
        self.members.clear()

    def _leave(self, req: SimRequest) -> None:
        steps = len(self.emitted) - req.since
        self.phases[(req.since - req.computed) % self.block_size] -= 1
        req.computed += steps
        req.generated += steps
        req.tokens += steps
        req.blocks = -(-req.computed // self.block_size)
        req.chunks += self.emitted[req.since :]
        req.since = -1
        self.context -= req.computed + 1


class FastDecode:
    """Runs a scheduler's steps through a decode group while it can, and says when it can't."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.sched = scheduler
        self.group: DecodeGroup | None = None
        self.prefilling: list[SimRequest] = []  # the running requests outside the group

    def dissolve(self) -> None:
        if self.group is not None:
            self.group.dissolve()
            self.group = None

    def step(self, horizon: float | None, timeline: Timeline) -> list[SimRequest] | None:
        """`Scheduler.step`, when the budget covers every member of the decode group and the
        free blocks cover every request scheduled (no preemption). Then the group advances as
        a whole; steps in which only it runs repeat until a member leaves or an arrival is due
        (`horizon`).

        The members run before any prefill that the budget cuts: a request still prefilling
        was cut in every step since its admission, which left no budget to admit another.

        Returns the finished requests, or None when these conditions do not hold (then
        `Scheduler.step` runs the general case).
        """
        sched = self.sched
        cfg = sched.config
        pool = sched.pool
        bs = cfg.block_size
        max_len = cfg.max_model_len
        group = self.group
        if group is None:
            if len(sched.running) > cfg.max_num_batched_tokens:
                return None  # not every request can be scheduled
            group = self.group = DecodeGroup(bs, max_len)
            self.prefilling = []
            for req in sched.running:
                if req.decoding and req.computed < max_len:
                    group.join(req)
                else:
                    self.prefilling.append(req)
        decodes = len(group.members)
        budget = cfg.max_num_batched_tokens - decodes
        need = group.blocks_due()
        chunks: Chunks = []
        for req in self.prefilling:
            n = min(req.tokens - req.computed, budget, max_len - req.computed)
            if n > 0:
                chunks.append((req, n))
                budget -= n
                need += -(-(req.computed + n) // bs) - req.blocks
        if budget < 0 or need > pool.available:
            return None
        if need:
            pool.take(need)
        for req, n in chunks:
            req.blocks = -(-(req.computed + n) // bs)
        if sched.waiting:
            scheduled = len(chunks)
            sched.admit(budget, chunks)
            self.prefilling += [req for req, _ in chunks[scheduled:]]
        if not decodes and not chunks:
            return None
        sched.clock += sched.step_seconds(decodes, group.context, chunks)
        sched.step_count += 1
        emitted = sched.clock + cfg.stream_latency_s
        leaving = group.advance(emitted)
        # Only the group decoded, and the next steps are alike: none can admit the waiting
        # head (the budget and seats stay, free blocks only shrink, and so does the head's
        # cache), so the running list changes only when a member leaves or blocks run out.
        while not leaving and not chunks and (horizon is None or sched.clock < horizon):
            timeline.until(sched.clock)
            until = timeline.next_s if horizon is None else min(timeline.next_s, horizon)
            sched.clock, steps, leaving = group.decode_alone(
                sched.clock, until, sched.steps, cfg.stream_latency_s, pool
            )
            if not steps:
                return []  # a member's new block does not fit: `Scheduler.step` preempts
            sched.step_count += steps
        finished = []
        for req in leaving:
            if req.generated >= req.output:
                finished.append(req)
            else:  # at the context limit, where it stays
                bisect.insort(self.prefilling, req, key=lambda r: r.admitted)
        for req, produced in sched.apply(chunks, emitted):
            if produced and req.generated >= req.output:
                finished.append(req)
            elif produced and req.decoding and req.computed < max_len:
                group.join(req)
        if chunks or finished:
            self.prefilling = [r for r in self.prefilling if r.since < 0 and r not in finished]
            sched.finish(finished)
        return finished
