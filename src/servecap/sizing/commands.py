"""The shell commands that start a recommended deployment: one node, or a Ray cluster."""

from __future__ import annotations

import shlex

from ..memory.plan import MemoryPlan

RAY_PORT = 6379
# `vllm serve --data-parallel-size` serves dense models from one API server since 0.9.
DATA_PARALLEL_SINCE = "0.9.0"


def deployment_commands(plan: MemoryPlan, replicas: int, gpus_per_node: int) -> list[str]:
    """Commands that start `replicas` copies of the planned engine on nodes of that size."""
    argv = plan.vllm_args()
    size = plan.config.tensor_parallel_size * plan.config.pipeline_parallel_size
    if size > gpus_per_node:
        return _ray_commands(argv, size, replicas, gpus_per_node)
    per_node = gpus_per_node // size
    nodes = -(-replicas // per_node)
    if nodes == 1:
        return _one_node(plan, argv, replicas, size)
    commands = []
    full, last = divmod(replicas, per_node)
    groups = [(full, per_node)] + ([(1, last)] if last else [])
    for count, local in groups:
        where = f"on each of {count} nodes" if count > 1 else "on one node"
        cmd = _one_node(plan, argv, local, size)
        commands += [f"{c}  # {where}" for c in cmd]
    return [*commands, f"# then put a load balancer over the {nodes} nodes' port 8000"]


def _one_node(plan: MemoryPlan, argv: list[str], replicas: int, size: int) -> list[str]:
    if replicas == 1:
        return [shlex.join(argv)]
    if plan.version.at_least(DATA_PARALLEL_SINCE):
        return [shlex.join([*argv, "--data-parallel-size", str(replicas)])]
    # older vLLM: one server per replica on its own GPUs and port, behind a load balancer
    commands = []
    for i in range(replicas):
        devices = ",".join(str(d) for d in range(i * size, (i + 1) * size))
        port = str(8000 + i)
        commands.append(f"CUDA_VISIBLE_DEVICES={devices} " + shlex.join([*argv, "--port", port]))
    return commands


def _ray_commands(argv: list[str], size: int, replicas: int, gpus_per_node: int) -> list[str]:
    """vLLM's multi-node recipe: a Ray cluster per replica, `vllm serve` on its head node."""
    nodes = -(-size // gpus_per_node)
    serve = shlex.join([*argv, "--distributed-executor-backend", "ray"])
    commands = [
        f"ray start --head --port={RAY_PORT}  # on the head node",
        f"ray start --address=<head-node-ip>:{RAY_PORT}  # on "
        + (f"each of the other {nodes - 1} nodes" if nodes > 2 else "the other node"),
        f"{serve}  # on the head node, once `ray status` shows {size} GPUs",
    ]
    if replicas > 1:
        commands.append(
            f"# repeat for each of the {replicas} replicas ({nodes} nodes each), "
            "then put a load balancer over their port 8000"
        )
    return commands
