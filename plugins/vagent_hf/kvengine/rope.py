"""Moving cached keys to new positions by re-rotating them (rotary position embeddings).

A rotary model stores each key already rotated by its position. With the "rotate half"
convention that transformers' Llama-family models use, head dimension ``i < r/2`` (``r`` the
rotary width, ``2 * len(inv_freq)``; dimensions past ``r`` are not rotated) is paired with
``i + r/2`` and the pair ``(x, y)`` of a key at position ``p`` becomes

    x' = s (x cos(p w_i) - y sin(p w_i))
    y' = s (y cos(p w_i) + x sin(p w_i))

where ``w_i = inv_freq[i]`` and ``s`` is the rope type's attention scaling (1 except for yarn).
That is ``k_p = s R(p w) k`` with ``R(a)`` a plane rotation per pair. Rotations compose by adding
angles, ``R(a) R(b) = R(a + b)``, and commute with the scalar ``s``, so

    R(d w) k_p = s R((p + d) w) k = k_{p+d}

for any delta ``d``: rotating a cached key once more by ``d w`` gives exactly the key the model
would have computed at position ``p + d`` (values carry no position and stay as they are). The
angles ``d w_i`` are formed in float64 from the model's own ``inv_freq`` (never from the rotary
module's cos/sin tables, which are rounded to the model dtype and may be scaled by ``s``), so the
shift adds only one rounding to the cache dtype.

This holds while ``w`` does not depend on the positions: ``default``, ``linear``, ``llama3`` and
``yarn`` rope. ``dynamic`` NTK and ``longrope`` pick their frequencies from the current sequence
length (a cache made under one set is not a rotation away from another), multimodal rope
(``mrope``) rotates bands by separate position axes, models with per-layer-type frequencies and
models that pair adjacent dimensions (interleaved) follow other formulas: all are refused with
``UnsupportedRope``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from vagent.kv.errors import UnsupportedRope

SHIFTABLE = ("default", "linear", "llama3", "yarn")
# Models whose rotary embedding pairs adjacent dimensions (x0, x1), (x2, x3), ... instead of halves.
INTERLEAVED = ("gptj", "codegen", "cohere", "cohere2", "glm", "glm4", "chatglm")


@dataclass(frozen=True)
class Rope:
    """A model's rotary frequencies: ``inv_freq`` (r/2,) float64, ``rotary_dim`` r."""

    rope_type: str
    inv_freq: torch.Tensor
    rotary_dim: int


def _text_config(config: Any) -> Any:
    get = getattr(config, "get_text_config", None)
    return get(decoder=True) if callable(get) else config


def rope_parameters(config: Any) -> dict[str, Any]:
    """The rope settings of ``config`` (transformers 5 ``rope_parameters`` or older
    ``rope_scaling``), refusing layouts that cannot be shifted by one rotation."""
    cfg = _text_config(config)
    model_type = str(getattr(cfg, "model_type", "") or "")
    params = getattr(cfg, "rope_parameters", None) or getattr(cfg, "rope_scaling", None) or {}
    params = dict(params)
    if params and all(isinstance(v, dict) for v in params.values()):
        raise UnsupportedRope(
            f"{model_type or 'this model'} uses different rope settings per layer type "
            f"({', '.join(params)}); its KV caches cannot be moved to new positions: keep "
            "stored caches at their original positions (splice with rebase=False)"
        )
    rope_type = str(params.get("rope_type") or params.get("type") or "default")
    reason = ""
    if model_type in INTERLEAVED:
        reason = f"model type '{model_type}' rotates interleaved dimension pairs"
    elif params.get("mrope_section") or "mrope" in rope_type:
        reason = "multimodal rope (mrope) rotates bands by separate position axes"
    elif rope_type not in SHIFTABLE:
        reason = f"rope type '{rope_type}' changes its frequencies with the sequence length"
    if reason:
        raise UnsupportedRope(
            f"cannot move KV caches of {model_type or 'this model'} to new positions: {reason}; "
            f"shiftable rope types are {', '.join(SHIFTABLE)} (keep the caches at their original "
            "positions: splice with rebase=False)"
        )
    params["rope_type"] = rope_type
    return params


def _module_inv_freq(model: Any) -> torch.Tensor | None:
    found: list[torch.Tensor] = []
    for module in model.modules():
        inv = getattr(module, "inv_freq", None)
        if isinstance(inv, torch.Tensor) and not any(
            f.shape == inv.shape and torch.equal(f, inv.to(f)) for f in found
        ):
            found.append(inv.detach().to("cpu", torch.float64))
    if len(found) > 1:
        raise UnsupportedRope(
            "the model holds several rotary frequency tables (per-layer rope); its KV caches "
            "cannot be moved to new positions: splice with rebase=False"
        )
    return found[0] if found else None


def rope_of(model: Any) -> Rope:
    """The rotary frequencies of a transformers model (its rotary module's ``inv_freq``)."""
    params = rope_parameters(model.config)
    inv = _module_inv_freq(model)
    if inv is None:
        raise UnsupportedRope(
            f"{type(model).__name__} has no rotary embedding (no inv_freq buffer); only rotary "
            "models can have their KV caches moved to new positions"
        )
    return Rope(params["rope_type"], inv, 2 * int(inv.numel()))


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def shift_keys(keys: torch.Tensor, delta: int | torch.Tensor, rope: Rope) -> torch.Tensor:
    """Keys ``[..., tokens, head_dim]`` rotated as if each sat ``delta`` positions later.

    ``delta``: one int for all tokens, or a (tokens,) tensor. Returns a new tensor in the
    keys' dtype; the maths runs in float64.
    """
    if isinstance(delta, int) and delta == 0:
        return keys
    r = rope.rotary_dim
    if r > keys.shape[-1] or r % 2:
        raise UnsupportedRope(f"rotary width {r} does not fit head dimension {keys.shape[-1]}")
    d = torch.as_tensor(delta, dtype=torch.float64, device=keys.device).reshape(-1, 1)
    angles = d * rope.inv_freq.to(keys.device)[None, :]  # (tokens or 1, r/2)
    angles = torch.cat((angles, angles), dim=-1)
    x = keys[..., :r].to(torch.float64)
    out = (x * angles.cos() + rotate_half(x) * angles.sin()).to(keys.dtype)
    return out if r == keys.shape[-1] else torch.cat((out, keys[..., r:]), dim=-1)


def shift_packed(packed: torch.Tensor, delta: int | torch.Tensor, rope: Rope) -> torch.Tensor:
    """A packed ``[layers, 2, kv_heads, tokens, head_dim]`` cache with its keys shifted."""
    if isinstance(delta, int) and delta == 0:
        return packed
    return torch.stack((shift_keys(packed[:, 0], delta, rope), packed[:, 1]), dim=1)
