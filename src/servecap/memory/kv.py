"""KV cache geometry on one rank: per-layer specs, groups, bytes per block, blocks per request.

Mirrors `vllm/v1/kv_cache_interface.py` (specs and their max_memory_usage_bytes) and
`vllm/v1/core/kv_cache_utils.py` (get_kv_cache_groups, get_max_concurrency_for_kv_cache_config,
check_enough_kv_cache_memory, estimate_max_model_len).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..models.spec import LayerKind, ModelSpec
from ..units import ceil_div
from ..vllm.versions import VllmVersion


@dataclass(frozen=True)
class KVLayerSpec:
    """One layer's KV cache on one rank."""

    kind: LayerKind
    bytes_per_token: int  # attention kinds; 0 for linear-attention state
    window: int | None = None
    state_bytes: int = 0  # linear attention: bytes of one request's recurrent state

    def page_bytes(self, block_size: int) -> int:
        if self.kind is LayerKind.LINEAR:
            return self.state_bytes
        return block_size * self.bytes_per_token

    def blocks_per_request(
        self, max_len: int, block_size: int, inflight_tokens: int, linear_blocks: int
    ) -> int:
        """Blocks one request of `max_len` tokens can hold (max_memory_usage_bytes / page)."""
        if self.kind is LayerKind.SLIDING and self.window:
            tokens = min(self.window - 1 + inflight_tokens, max_len)
            return ceil_div(tokens, block_size) + 1
        if self.kind is LayerKind.CHUNKED and self.window:
            return ceil_div(min(self.window + inflight_tokens, max_len), block_size)
        if self.kind is LayerKind.LINEAR:
            return linear_blocks
        return ceil_div(max_len, block_size)


@dataclass(frozen=True)
class KVGroup:
    """Layers that share one block table (one KV cache group)."""

    spec: KVLayerSpec
    num_layers: int


@dataclass(frozen=True)
class KVLayout:
    """How one rank's KV cache is organised into blocks."""

    block_size: int
    groups: tuple[KVGroup, ...]
    bytes_per_block: int
    layer_specs: tuple[KVLayerSpec, ...]
    inflight_tokens: int
    linear_blocks: int = 1
    padding_layers: int = 0

    @property
    def uniform(self) -> bool:
        return len(self.groups) == 1

    @property
    def kv_bytes_per_token(self) -> int | None:
        """Bytes one token costs across all layers, when that is a single number."""
        if not self.uniform or self.groups[0].spec.kind not in (LayerKind.FULL, LayerKind.MLA):
            return None
        return sum(spec.bytes_per_token for spec in self.layer_specs)

    def blocks_per_request(self, max_len: int) -> int:
        return sum(
            g.spec.blocks_per_request(
                max_len, self.block_size, self.inflight_tokens, self.linear_blocks
            )
            for g in self.groups
        )

    def needed_bytes(self, max_len: int, over_groups: bool) -> int:
        """KV bytes one request of `max_len` tokens needs (the start-up fit check)."""
        if over_groups:
            return self.bytes_per_block * self.blocks_per_request(max_len)
        return sum(
            s.blocks_per_request(max_len, self.block_size, self.inflight_tokens, self.linear_blocks)
            * s.page_bytes(self.block_size)
            for s in self.layer_specs
        )

    def estimate_max_len(self, available: int, upper: int, over_groups: bool) -> int:
        """vLLM's binary search for the longest max_model_len that fits (0 if none)."""
        if self.needed_bytes(1, over_groups) > available:
            return 0
        lo, hi, best = 1, upper, 1
        while lo <= hi:
            mid = (lo + hi) // 2
            if self.needed_bytes(mid, over_groups) <= available:
                best, lo = mid, mid + 1
            else:
                hi = mid - 1
        return best


def layer_specs(
    spec: ModelSpec,
    layers: range,
    tp: int,
    kv_dtype_bytes: float,
    model_dtype_bytes: float,
    version: VllmVersion,
    hybrid_manager: bool,
) -> list[KVLayerSpec]:
    """The KV spec of each layer on one rank, after vLLM's version-dependent unification."""
    specs: list[KVLayerSpec] = []
    for i in layers:
        layer = spec.layers[i]
        if layer.kind is LayerKind.SHARED:
            continue
        if layer.kind is LayerKind.LINEAR:
            specs.append(
                KVLayerSpec(
                    LayerKind.LINEAR,
                    0,
                    state_bytes=_linear_state_bytes(spec, tp, kv_dtype_bytes, model_dtype_bytes),
                )
            )
            continue
        if layer.kind is LayerKind.MLA:
            per_token = int(layer.head_dim * kv_dtype_bytes)
            specs.append(KVLayerSpec(LayerKind.MLA, per_token))
            continue
        heads = max(1, layer.num_kv_heads // tp)
        per_token = int((layer.head_dim + layer.head_dim_v) * heads * kv_dtype_bytes)
        specs.append(KVLayerSpec(layer.kind, per_token, window=layer.window))
    return _unify(specs, version, hybrid_manager)


def _unify(specs: list[KVLayerSpec], version: VllmVersion, hybrid: bool) -> list[KVLayerSpec]:
    """Promote local-attention layers to full attention where vLLM does."""
    local = {LayerKind.SLIDING, LayerKind.CHUNKED}
    kinds = {s.kind for s in specs}
    if not kinds & local:
        return specs
    all_local = kinds <= local
    keep = (hybrid and version.hybrid_kv_manager) or (
        all_local and version.sliding_window_spec and LayerKind.SLIDING in kinds
    )
    if keep:
        return specs
    return [KVLayerSpec(LayerKind.FULL, s.bytes_per_token) if s.kind in local else s for s in specs]


def _linear_state_bytes(spec: ModelSpec, tp: int, conv_bytes: float, ssm_bytes: float) -> int:
    """Conv plus recurrent state of one gated-delta-net layer (vllm mamba_utils state shapes)."""
    assert spec.linear is not None
    la = spec.linear
    conv = (la.conv_kernel - 1) * (la.conv_dim // tp) * conv_bytes
    ssm = (la.num_value_heads // tp) * la.key_head_dim * la.value_head_dim * ssm_bytes
    return int(conv + ssm)


def hybrid_block_size(specs: list[KVLayerSpec], block_size: int, alignment: int = 16) -> int:
    """Attention block size raised until one attention page holds a linear-attention state."""
    states = [s.state_bytes for s in specs if s.kind is LayerKind.LINEAR]
    attention = [s.bytes_per_token for s in specs if s.kind is not LayerKind.LINEAR]
    if not states or not attention:
        return block_size
    per_token = max(attention)
    needed = alignment * ceil_div(max(states), alignment * per_token)
    return max(block_size, needed)


def layout(
    specs: list[KVLayerSpec],
    block_size: int,
    version: VllmVersion,
    inflight_tokens: int,
    linear_blocks: int = 1,
) -> KVLayout:
    """Group layers and size one block (vllm kv_cache_utils.get_kv_cache_groups)."""
    if not specs:
        return KVLayout(block_size, (), 0, (), inflight_tokens)
    block_size = hybrid_block_size(specs, block_size)
    specs = _pad_linear_pages(specs, block_size)
    buckets = Counter(specs)
    if len(buckets) == 1 or {s.kind for s in specs} <= {LayerKind.FULL}:
        # One group; per-layer pages may differ (UniformTypeKVCacheSpecs), so sum them.
        group = KVGroup(specs[0], len(specs))
        total = sum(s.page_bytes(block_size) for s in specs)
        return KVLayout(block_size, (group,), total, tuple(specs), inflight_tokens, linear_blocks)
    counts = sorted(buckets.values())
    smallest, largest = counts[0], counts[-1]
    group_size = smallest
    if version.group_size_uses_largest and largest < 1.5 * smallest:
        group_size = largest
    groups: list[KVGroup] = []
    padding = 0
    for bucket_spec, count in buckets.items():
        n_groups = ceil_div(count, group_size)
        padding += n_groups * group_size - count
        for g in range(n_groups):
            groups.append(KVGroup(bucket_spec, min(group_size, count - g * group_size)))
    page = max(s.page_bytes(block_size) for s in buckets)
    return KVLayout(
        block_size,
        tuple(groups),
        group_size * page,
        tuple(specs),
        inflight_tokens,
        linear_blocks,
        padding,
    )


def _pad_linear_pages(specs: list[KVLayerSpec], block_size: int) -> list[KVLayerSpec]:
    """Linear-attention state pages are padded up to the attention page size."""
    attention = [s.page_bytes(block_size) for s in specs if s.kind is not LayerKind.LINEAR]
    if not attention or all(s.kind is not LayerKind.LINEAR for s in specs):
        return specs
    page = max(attention)
    return [
        KVLayerSpec(s.kind, 0, state_bytes=max(page, s.state_bytes))
        if s.kind is LayerKind.LINEAR
        else s
        for s in specs
    ]
