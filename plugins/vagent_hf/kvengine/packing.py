"""Transformers caches to the packed format (``vagent.kv.packed``), and torch dtypes by name."""

from __future__ import annotations

import torch

from vagent.kv.packed import check_dtype_name

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}


def dtype_of(name: str) -> torch.dtype:
    """The torch dtype called ``name`` (one of ``vagent.kv.packed.DTYPE_NAMES``), or ValueError."""
    return DTYPES[check_dtype_name(name)]


def cache_layers(cache: object) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(keys, values) per layer of a transformers cache, each ``[batch, kv_heads, tokens, dim]``."""
    layers = getattr(cache, "layers", None)
    if layers is None:
        raise TypeError(f"expected a transformers Cache with .layers, got {type(cache).__name__}")
    out = []
    for i, layer in enumerate(layers):
        if getattr(layer, "is_sliding", False):
            raise ValueError(
                f"layer {i} of the cache is a sliding-window layer: it drops old tokens, so its "
                "KV cannot be stored per segment; prefill with a DynamicCache built without config"
            )
        out.append((layer.keys, layer.values))
    return out


def pack(
    cache: object,
    begin: int,
    end: int,
    dtype: torch.dtype | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Cached tokens at indices ``begin:end`` of batch row 0 as one packed tensor (a copy)."""
    rows = [torch.stack((k[0, :, begin:end], v[0, :, begin:end])) for k, v in cache_layers(cache)]
    packed = torch.stack(rows)
    return packed.to(dtype=dtype or packed.dtype, device=device).contiguous()
