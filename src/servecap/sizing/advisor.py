"""The search: which GPU, parallelism, replicas and vLLM settings serve N users within SLOs.

Deployments are visited by GPUs per replica (tensor x pipeline), fewest first. For each GPU
and layout the plainest settings that fit are simulated first (utilization 0.9, KV in the
model's dtype); more memory or an fp8 KV cache is tried only when that one does not fit or
ran out of KV. The fewest replicas that meet the SLOs come from a bisection over replicas,
the exact capacity (a search over users) only for the options that are shown. Once a
deployment of k GPUs meets the SLOs, nothing that needs more than k is simulated.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidValueError
from ..hardware import GPU
from ..memory.plan import MemoryPlan, plan
from ..models.resolve import load_model
from ..models.spec import ModelSpec
from ..sim.expected_error import expected_error
from ..vllm.serve_config import ServeConfig
from ..vllm.versions import VllmVersion, default_version, parse_version
from .commands import deployment_commands
from .ranking import limit_text, nothing_meets, rank_key, verdict
from .request import AdviseRequest
from .result import Advice, AdviseOption
from .search import MAX_USERS_PER_REPLICA, Replica, miss_ratio

TOP = 6  # the best option and five runners-up
TP_SIZES = (1, 2, 4, 8)
CURVE_POINTS = 6  # evenly spaced, plus 1, the users asked for and the capacity


@dataclass
class _Candidate:
    gpu: GPU
    replica: Replica
    replicas: int  # the fewest that meet the SLOs, or the most allowed when none do
    meets: bool

    @property
    def score(self) -> tuple[bool, int]:
        return (self.meets, -self.replicas)

    @property
    def size(self) -> int:
        c = self.replica.plan.config
        return c.tensor_parallel_size * c.pipeline_parallel_size


class _Search:
    def __init__(self, request: AdviseRequest, spec: ModelSpec, version: VllmVersion) -> None:
        self.request = request
        self.spec = spec
        need = request.prompt_tokens + request.output_tokens
        if need > spec.max_position_embeddings:
            raise InvalidValueError(
                f"{request.prompt_tokens} prompt + {request.output_tokens} output tokens exceed "
                f"{spec.name}'s context of {spec.max_position_embeddings:,}",
                "ask for shorter prompts or answers",
            )
        self.max_model_len = min(request.max_model_len, spec.max_position_embeddings)
        self.version = version
        self.replicas: list[Replica] = []
        self.planned = 0
        self.last_error: str | None = None

    def plan(self, gpu: GPU, tp: int, pp: int, utilization: float, kv: str) -> MemoryPlan:
        config = ServeConfig(
            gpu_memory_utilization=utilization,
            max_model_len=self.max_model_len,
            tensor_parallel_size=tp,
            pipeline_parallel_size=pp,
            kv_cache_dtype=kv,
        )
        self.planned += 1
        result = plan(self.spec, gpu, config, self.version)
        if not result.fits:
            self.last_error = result.error
        return result

    def variants(self, gpu: GPU) -> list[tuple[float, str]]:
        """(utilization, KV dtype), plainest first; fp8 KV only on GPUs with fp8 units."""
        kvs = [k for k in self.request.kv_cache_dtypes if k == "auto" or gpu.fp8_tflops]
        return [(u, kv) for kv in kvs for u in self.request.utilizations]

    def fits(self, gpu: GPU, tp: int, pp: int) -> bool:
        return any(self.plan(gpu, tp, pp, u, kv).fits for u, kv in self.variants(gpu))

    def layouts(self, gpu: GPU) -> list[tuple[int, int]]:
        """Tensor parallel sizes that fit on one node; else the fewest pipeline stages."""
        r = self.request
        tps = [
            t
            for t in TP_SIZES
            if t <= min(r.gpus_per_node, r.max_gpus) and self.spec.num_attention_heads % t == 0
        ]
        fitting = [(t, 1) for t in tps if self.fits(gpu, t, 1)]
        if fitting or not tps:
            return fitting
        tp = tps[-1]
        for pp in range(2, min(r.max_gpus // tp, self.spec.num_layers) + 1):
            if self.fits(gpu, tp, pp):
                return [(tp, pp)]
        return []

    def candidate(self, gpu: GPU, tp: int, pp: int, most: int) -> _Candidate | None:
        """The plainest settings of this layout that need the fewest replicas (<= most).

        More KV memory (0.95, fp8) is simulated only when the plainest run out of KV, and
        the settings in between only when the most KV does better.
        """
        plans = [p for u, kv in self.variants(gpu) if (p := self.plan(gpu, tp, pp, u, kv)).fits]
        if not plans:
            return None
        first = self._evaluate(gpu, plans[0], most)
        if len(plans) == 1 or (first.replicas == 1 and first.meets):
            return first
        if not first.replica.kv_limited():
            return first
        best = self._evaluate(gpu, plans[-1], most)
        if best.score <= first.score:
            return first
        for p in plans[1:-1]:
            cand = self._evaluate(gpu, p, most)
            if cand.score >= best.score:
                return cand
        return best

    def _evaluate(self, gpu: GPU, result: MemoryPlan, most: int) -> _Candidate:
        r = self.request
        rep = Replica(result, r.prompt_tokens, r.output_tokens, list(r.parsed_slos))
        self.replicas.append(rep)
        fewest = rep.min_replicas(r.users, most)
        return _Candidate(gpu, rep, fewest or most, fewest is not None)

    def option(self, cand: _Candidate) -> AdviseOption:
        """Capacity, metrics at the requested users, commands and notes of a candidate."""
        r, rep, users = self.request, cand.replica, self.request.users
        replicas = cand.replicas
        if cand.meets:
            lo = -(-users // replicas)
            hi = -(-users // (replicas - 1)) if replicas > 1 else None
            per_replica = rep.capacity(lo, hi)
        else:
            per_replica = rep.capacity(0, -(-users // replicas))
            replicas = replicas if per_replica else 1  # more copies cannot help one user
        limit, miss = "", 0.0
        if per_replica < MAX_USERS_PER_REPLICA:
            limit = limit_text(rep.run(per_replica + 1))
            miss = miss_ratio(rep.run(per_replica + 1).slos)
        price = r.cost_of(cand.gpu)
        count = cand.size * replicas
        return AdviseOption(
            gpu=cand.gpu,
            plan=rep.plan,
            replicas=replicas,
            meets_slos=cand.meets,
            max_users=rep.fleet_capacity(per_replica, replicas),
            metrics=rep.fleet_metrics(users, replicas),
            cost_per_hour=None if price is None else round(price * count, 4),
            commands=deployment_commands(rep.plan, replicas, r.gpus_per_node),
            limit=limit,
            miss_ratio=miss,
            notes=_notes(cand.gpu, rep.plan, replicas, r.gpus_per_node),
        )


def _notes(gpu: GPU, result: MemoryPlan, replicas: int, gpus_per_node: int) -> list[str]:
    config = result.config
    size = config.tensor_parallel_size * config.pipeline_parallel_size
    notes = []
    if config.tensor_parallel_size > 1 and not gpu.nvlink:
        notes.append(
            "tensor parallel without NVLink: the simulator prices all-reduces at NVLink "
            "speed, so expect slower steps than shown"
        )
    if config.pipeline_parallel_size > 1:
        notes.append(
            "pipeline parallel: simulated as each step passing every stage in turn, with no "
            "overlap of micro-batches; latency as shown, throughput under load pessimistic"
        )
    if config.kv_cache_dtype != "auto":
        notes.append("fp8 KV cache: half the KV memory; check answer quality on your prompts")
    if size * replicas > gpus_per_node:
        notes.append(f"more than one node of {gpus_per_node} GPUs")
    return notes


def advise(request: AdviseRequest) -> Advice:
    """Search GPUs, parallelism, replicas and settings; rank those that meet the SLOs."""
    version = parse_version(request.vllm_version) if request.vllm_version else default_version()
    search = _Search(request, spec=load_model(request.model), version=version)
    spec = search.spec
    layouts = sorted(
        (
            (tp * pp, gpu.memory_bytes, gpu, tp, pp)
            for gpu in request.hardware()
            for tp, pp in search.layouts(gpu)
        ),
        key=lambda x: (x[0], -x[1], x[2].slug, x[3]),  # big GPUs first: they settle k early
    )
    found: list[_Candidate] = []
    for size, _, gpu, tp, pp in layouts:
        # once a deployment of k GPUs meets the SLOs, only others of at most k GPUs matter
        fewest = min((c.size * c.replicas for c in found if c.meets), default=None)
        most = request.max_gpus // size if fewest is None else fewest // size
        if most == 0:
            continue
        cand = search.candidate(gpu, tp, pp, most)
        if cand is not None and (cand.meets or fewest is None):
            found.append(cand)
    options = _ranked(search, found)
    slos = list(request.slos)
    if not options:
        where = " or ".join(g.slug for g in request.hardware()) if request.gpus else "any GPU"
        reason = (search.last_error or "").split(". ")[0]
        text = (
            f"Nothing fits: {spec.name} with {search.max_model_len:,} tokens of context does "
            f"not fit on up to {request.max_gpus} of {where}"
            + (f" (vLLM would say: {reason})." if reason else ".")
        )
    elif options[0].meets_slos:
        text = verdict(options[0], request.users)
    else:
        text = nothing_meets(options[0], request.users, slos, request.max_gpus)
    best = options[0] if options else None
    return Advice(
        model=spec.name,
        users=request.users,
        prompt_tokens=request.prompt_tokens,
        output_tokens=request.output_tokens,
        slos=slos,
        verdict=text,
        options=options,
        curve=_curve(search, best, request.users) if best else [],
        vllm_version=str(version),
        searched=search.planned,
        simulations=sum(rep.runs_done for rep in search.replicas),
        notes=[
            "latency and capacity come from servecap's simulator with its default step-time "
            "profile; `servecap calibrate --url` measures your hardware",
            *([expected_error(best.plan).sentence()] if best else []),
            "users split evenly over replicas",
            "among equal GPU counts and prices, less memory per GPU ranks first",
        ],
    )


def _ranked(search: _Search, found: list[_Candidate]) -> list[AdviseOption]:
    """The TOP options, computing capacities only where the order needs them."""
    priced = bool(search.request.costs)

    def pre_key(c: _Candidate) -> tuple[float, ...]:
        price = search.request.cost_of(c.gpu)
        count = c.size * c.replicas
        total = price * count if price is not None else float("inf")
        return (count, total if priced else 0.0, c.gpu.memory_bytes)

    meeting = sorted((c for c in found if c.meets), key=pre_key)
    options: list[AdviseOption] = []
    i = 0
    while i < len(meeting) and len(options) < TOP:
        key = pre_key(meeting[i])
        group = [c for c in meeting[i:] if pre_key(c) == key]
        options += [search.option(c) for c in group]
        i += len(group)
    if not options:
        # nothing meets: the closest few, guessed cheaply by the SLOs at one user
        missing = sorted(found, key=lambda c: miss_ratio(c.replica.run(1).slos))
        options = [search.option(c) for c in missing[:TOP]]
    options.sort(key=lambda o: rank_key(o, priced))
    return options[:TOP]


def _curve(search: _Search, best: AdviseOption, users: int) -> list[dict[str, object]]:
    """The best option's numbers from one user to about twice what it serves."""
    rep = next(r for r in search.replicas if r.plan is best.plan)
    top = 2 * max(best.max_users, users, 1)
    points = {1, users, best.max_users, best.max_users + 1, top}
    points |= {max(1, round(top * i / CURVE_POINTS)) for i in range(1, CURVE_POINTS)}
    curve = []
    for n in sorted(p for p in points if p >= 1):
        m = rep.fleet_metrics(n, best.replicas)
        curve.append(
            {
                "users": n,
                "ttft_p50_s": round(m["ttft_p50_s"], 4),
                "ttft_p95_s": round(m["ttft_p95_s"], 4),
                "tokens_per_s_p50": round(m["tokens_per_s_p50"], 3),
                "tokens_per_s_p5": round(m["tokens_per_s_p5"], 3),
                "throughput_tokens_per_s": round(m["throughput_tokens_per_s"], 2),
                "meets_slos": m["meets_slos"],
            }
        )
    return curve
