"""Count a vision tower's parameters from a config.json's vision_config."""

from __future__ import annotations

from .fields import Fields


def read_vision_params(vision: Fields | None) -> int:
    """A ViT's parameter count: attention, MLP and norms per block, plus the patch embedding."""
    if vision is None:
        return 0
    hidden = vision.first_int("hidden_size", "embed_dim", "width", default=0, minimum=0)
    depth = vision.first_int("num_hidden_layers", "depth", "layers", default=0, minimum=0)
    if not hidden or not depth:
        return 0
    inter = vision.first_int("intermediate_size", default=4 * hidden)
    patch = vision.int_or("patch_size", default=14)
    channels = vision.int_or("num_channels", "in_channels", default=3)
    temporal = vision.int_or("temporal_patch_size", default=1)
    per_block = 4 * hidden * hidden + 2 * hidden * inter + 9 * hidden + 2 * inter
    image = vision.int_or("image_size", default=0)
    positions = (image // patch) ** 2 if image else 0
    out = vision.first_int("out_hidden_size", "projection_dim", default=hidden)
    merger = 4 * hidden * 4 * hidden + 4 * hidden * out if out != hidden else 0
    return (
        depth * per_block
        + channels * temporal * patch * patch * hidden
        + positions * hidden
        + merger
    )
