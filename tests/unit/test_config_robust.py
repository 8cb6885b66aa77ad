"""parse_config on damaged real configs: a sane ModelSpec or a ConfigError, never a crash."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import FIXTURES
from servecap.errors import ConfigError
from servecap.models.config import parse_config
from servecap.models.resolve import catalogue
from servecap.models.spec import ModelSpec

CONFIGS: dict[str, dict[str, Any]] = {
    **json.loads((FIXTURES / "model_configs.json").read_text()),
    **{f"catalogue:{key}": entry["config"] for key, entry in catalogue().items()},
}
NAMES = sorted(CONFIGS)

# Keys the parser reads, so that mutations hit them more often than the unread ones.
READ_KEYS = frozenset(
    {
        "model_type",
        "architectures",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "vocab_size",
        "intermediate_size",
        "num_key_value_heads",
        "head_dim",
        "max_position_embeddings",
        "model_max_length",
        "sliding_window",
        "use_sliding_window",
        "max_window_layers",
        "sliding_window_pattern",
        "layer_types",
        "attention_chunk_size",
        "no_rope_layers",
        "nope_layer_interval",
        "full_attention_interval",
        "num_local_experts",
        "num_experts",
        "n_routed_experts",
        "num_experts_per_tok",
        "moe_intermediate_size",
        "shared_expert_intermediate_size",
        "n_shared_experts",
        "first_k_dense_replace",
        "decoder_sparse_step",
        "mlp_only_layers",
        "interleave_moe_layer_step",
        "kv_lora_rank",
        "q_lora_rank",
        "qk_rope_head_dim",
        "qk_nope_head_dim",
        "v_head_dim",
        "rotary_dim",
        "partial_rotary_factor",
        "rope_scaling",
        "rope_parameters",
        "rope_type",
        "type",
        "factor",
        "original_max_position_embeddings",
        "quantization_config",
        "quant_method",
        "bits",
        "group_size",
        "weight_block_size",
        "config_groups",
        "weights",
        "num_bits",
        "modules_to_not_convert",
        "vision_config",
        "patch_size",
        "image_size",
        "depth",
        "out_hidden_size",
        "text_config",
        "llm_config",
        "linear_num_key_heads",
        "linear_conv_kernel_dim",
        "num_nextn_predict_layers",
        "torch_dtype",
    }
)
SORTED_READ_KEYS = sorted(READ_KEYS)

BAD_VALUES = st.one_of(
    st.text(max_size=6),
    st.lists(st.one_of(st.integers(-2, 9), st.text(max_size=3)), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(-2, 9), max_size=2),
    st.none(),
    st.booleans(),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.5, 36.5, 1e300]),
    st.integers(-(10**6), 0),
    st.integers(2**31, 2**80),
    st.integers(1, 100_000),
)

Path = tuple[str | int, ...]


def _paths(node: Any, prefix: Path = ()) -> list[Path]:
    """Every key of nested objects, and the first entries of lists."""
    if isinstance(node, dict):
        children: list[tuple[str | int, Any]] = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node[:3]))
    else:
        return []
    paths: list[Path] = []
    for key, child in children:
        paths.append((*prefix, key))
        paths.extend(_paths(child, (*prefix, key)))
    return paths


def _objects(node: Any, prefix: Path = ()) -> list[Path]:
    """The paths of the config and of every object nested in it."""
    found = [prefix] if isinstance(node, dict) else []
    if isinstance(node, dict):
        for key, child in node.items():
            found.extend(_objects(child, (*prefix, key)))
    return found


def _at(node: Any, path: Path) -> Any:
    for key in path:
        node = node[key]
    return node


@st.composite
def damaged_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A real config with one to three values replaced, keys dropped or added, or nested."""
    cfg = copy.deepcopy(CONFIGS[draw(st.sampled_from(NAMES))])
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["replace", "replace", "set", "drop", "add", "nest"]))
        paths = _paths(cfg)
        read = [p for p in paths if p[-1] in READ_KEYS]
        if action == "replace" and paths:
            prefer_read: bool = draw(st.booleans())
            pool = read if read and prefer_read else paths
            path = draw(st.sampled_from(pool))
            _at(cfg, path[:-1])[path[-1]] = copy.deepcopy(draw(BAD_VALUES))
        elif action == "set":
            parent = _at(cfg, draw(st.sampled_from(_objects(cfg))))
            parent[draw(st.sampled_from(SORTED_READ_KEYS))] = copy.deepcopy(draw(BAD_VALUES))
        elif action == "drop" and paths:
            path = draw(st.sampled_from(paths))
            parent = _at(cfg, path[:-1])
            if isinstance(parent, dict):
                del parent[path[-1]]
        elif action == "add":
            parent = _at(cfg, draw(st.sampled_from(_objects(cfg))))
            parent[draw(st.text(min_size=1, max_size=8))] = copy.deepcopy(draw(BAD_VALUES))
        elif action == "nest":
            cfg = {
                "text_config": cfg,
                **draw(st.dictionaries(st.sampled_from(SORTED_READ_KEYS), BAD_VALUES, max_size=1)),
            }
    return cfg


def _is_size(value: Any, minimum: int = 1) -> bool:
    return type(value) is int and minimum <= value < 2**63


def _assert_sane(spec: ModelSpec) -> None:
    for field in (
        "hidden_size",
        "num_attention_heads",
        "num_kv_heads",
        "head_dim",
        "vocab_size",
        "max_position_embeddings",
        "rotary_dim",
        "rope_cache_positions",
    ):
        assert _is_size(getattr(spec, field)), (field, getattr(spec, field))
    for field in ("intermediate_size", "vision_params", "mtp_layers"):
        assert _is_size(getattr(spec, field), 0), (field, getattr(spec, field))
    assert spec.num_layers >= 1
    assert spec.num_attention_heads % spec.num_kv_heads == 0
    for layer in spec.layers:
        assert _is_size(layer.num_kv_heads, 0) and _is_size(layer.head_dim, 0)
        assert layer.window is None or _is_size(layer.window)
    if spec.moe is not None:
        moe = spec.moe
        assert _is_size(moe.num_experts, 2)
        assert _is_size(moe.experts_per_token) and moe.experts_per_token <= moe.num_experts
        assert _is_size(moe.expert_intermediate_size, 0)
        assert _is_size(moe.shared_intermediate_size, 0)
        assert all(0 <= i < spec.num_layers for i in moe.moe_layers)
    if spec.mla is not None:
        assert all(
            _is_size(v)
            for v in (spec.mla.kv_lora_rank, spec.mla.qk_rope_head_dim, spec.mla.v_head_dim)
        )
    if spec.linear is not None:
        assert _is_size(spec.linear.key_dim) and _is_size(spec.linear.conv_kernel)
    quant = spec.quantization
    if quant is not None:
        assert _is_size(quant.bits) and quant.bits <= 16
        assert quant.group_size is None or quant.group_size == -1 or _is_size(quant.group_size)
        assert quant.block_size is None or all(_is_size(v) for v in quant.block_size)
        assert all(isinstance(m, str) for m in quant.modules_not_quantized)


@settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(damaged_configs())
def test_a_damaged_config_gives_a_sane_spec_or_a_config_error(cfg: dict[str, Any]) -> None:
    try:
        spec = parse_config(cfg, "damaged")
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        _assert_sane(spec)


def test_the_real_configs_give_sane_specs() -> None:
    parsed = []
    for name in NAMES:
        try:
            parsed.append(parse_config(CONFIGS[name], name))
        except ConfigError:
            continue  # the few unsupported ones (Qwen3-VL without a model_type, ...)
    assert len(parsed) >= len(NAMES) - 3
    for spec in parsed:
        _assert_sane(spec)


def _config(name: str, **changes: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(CONFIGS[name])
    cfg.update(changes)
    return cfg


QWEN3 = "Qwen/Qwen3-8B"
GPT_OSS = "openai/gpt-oss-20b"
AWQ = "catalogue:Qwen/Qwen3-8B-AWQ"


@pytest.mark.parametrize(
    "cfg,key",
    [
        (_config(QWEN3, hidden_size="4096"), "'hidden_size'"),
        (_config(QWEN3, hidden_size=4096.5), "'hidden_size'"),
        (_config(QWEN3, hidden_size=math.nan), "'hidden_size'"),
        (_config(QWEN3, num_hidden_layers=True), "'num_hidden_layers'"),
        (_config(QWEN3, max_position_embeddings=math.inf), "'max_position_embeddings'"),
        (_config(QWEN3, vocab_size=-151936), "'vocab_size'"),
        (_config(QWEN3, vocab_size=10**30), "'vocab_size'"),
        (_config(QWEN3, architectures="Qwen3ForCausalLM"), "'architectures'"),
        (_config(GPT_OSS, layer_types="sliding_attention"), "'layer_types'"),
        (_config(GPT_OSS, layer_types=[1] * 24), "'layer_types[0]'"),
        (_config(QWEN3, rope_scaling=["yarn", 4.0]), "'rope_scaling'"),
        (
            _config(QWEN3, rope_scaling={"rope_type": "yarn", "factor": math.nan}),
            "'rope_scaling.factor'",
        ),
        (_config(QWEN3, partial_rotary_factor="half"), "'partial_rotary_factor'"),
        (_config(QWEN3, text_config=[1, 2]), "'text_config'"),
    ],
)
def test_a_bad_value_is_a_config_error_that_names_its_key(cfg: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(cfg, "bad")
    assert key in str(caught.value)


def test_non_numeric_quantization_bits_name_the_nested_key() -> None:
    cfg = _config(AWQ)
    cfg["quantization_config"] = {**cfg["quantization_config"], "bits": "four"}
    with pytest.raises(ConfigError, match=r"'quantization_config\.bits': 'four'"):
        parse_config(cfg, "bad")


def test_fp8_block_size_of_the_wrong_shape_is_a_config_error() -> None:
    cfg = _config("deepseek-ai/DeepSeek-V3")
    cfg["quantization_config"] = {**cfg["quantization_config"], "weight_block_size": [128]}
    with pytest.raises(ConfigError, match="weight_block_size"):
        parse_config(cfg, "bad")


def test_gptq_per_channel_group_size_is_kept() -> None:
    cfg = _config(AWQ)
    cfg["quantization_config"] = {"quant_method": "gptq", "bits": 4, "group_size": -1}
    quant = parse_config(cfg, "gptq").quantization
    assert quant is not None and quant.group_size == -1


def test_a_config_nested_under_text_config_parses_the_same() -> None:
    flat = parse_config(CONFIGS[QWEN3], QWEN3)
    nested = parse_config({"text_config": CONFIGS[QWEN3]}, QWEN3)
    assert nested.layers == flat.layers and nested.hidden_size == flat.hidden_size
    assert nested.multimodal
