"""One segment's KV cache as a single packed tensor ``[layers, 2, kv_heads, tokens, head_dim]``.

Index 0 of the second axis holds keys, 1 values. One tensor per segment (rather than one per
layer) keeps a stored segment one contiguous read.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def dtype_of(name: str) -> torch.dtype:
    try:
        return DTYPES[name.removeprefix("torch.")]
    except KeyError:
        raise ValueError(f"KV dtype '{name}': use one of {', '.join(DTYPES)}") from None


@dataclass
class KvEntry:
    """A segment's cache: ``kv`` packed, its first token at position ``start``.

    Tokens sit at the consecutive positions ``start .. end - 1``. ``fingerprint`` is the key of
    the ``Fingerprint`` it was made under ("" when unknown).
    """

    key: str
    kv: torch.Tensor
    start: int
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if self.kv.dim() != 5 or self.kv.shape[1] != 2:
            raise ValueError(
                f"KV of {self.key}: expected [layers, 2, kv_heads, tokens, head_dim], "
                f"got {list(self.kv.shape)}"
            )

    @property
    def layers(self) -> int:
        return int(self.kv.shape[0])

    @property
    def tokens(self) -> int:
        return int(self.kv.shape[3])

    @property
    def end(self) -> int:
        return self.start + self.tokens

    @property
    def nbytes(self) -> int:
        return self.kv.numel() * self.kv.element_size()

    def tail(self, n: int) -> KvEntry:
        """The last ``n`` tokens (all of them when ``n`` >= tokens)."""
        if n >= self.tokens:
            return self
        kv = self.kv[:, :, :, self.tokens - n :]
        return KvEntry(self.key, kv, self.end - n, self.fingerprint)


def analytic_bytes(
    layers: int, kv_heads: int, head_dim: int, tokens: int, dtype: torch.dtype
) -> int:
    """Bytes of the raw keys and values: layers x 2 x kv_heads x head_dim x tokens x dtype size."""
    return layers * 2 * kv_heads * head_dim * tokens * torch.empty(0, dtype=dtype).element_size()


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
