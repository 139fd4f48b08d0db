"""One segment's KV cache as a single packed tensor ``[layers, 2, kv_heads, tokens, head_dim]``.

Index 0 of the second axis holds keys, 1 values. One tensor per segment (rather than one per
layer) keeps a stored segment one contiguous read. This module only describes the format; it
imports no tensor library (the tensors come from the plugin that makes them, ``vagent_hf``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

_ITEMSIZE = {"float32": 4, "bfloat16": 2, "float16": 2}
DTYPE_NAMES = tuple(_ITEMSIZE)
"""The dtypes a packed cache may be stored in, by name."""


def dtype_name(dtype: Any) -> str:
    """``torch.bfloat16`` (or its name) -> ``bfloat16``."""
    return str(dtype).removeprefix("torch.")


def check_dtype_name(name: str) -> str:
    """``name`` as a stored dtype's name (``torch.`` prefix allowed), or ValueError."""
    clean = name.removeprefix("torch.")
    if clean not in DTYPE_NAMES:
        raise ValueError(f"KV dtype '{name}': use one of {', '.join(DTYPE_NAMES)}")
    return clean


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
        return int(self.kv.numel() * self.kv.element_size())

    def tail(self, n: int) -> KvEntry:
        """The last ``n`` tokens (all of them when ``n`` >= tokens)."""
        if n >= self.tokens:
            return self
        kv = self.kv[:, :, :, self.tokens - n :]
        return KvEntry(self.key, kv, self.end - n, self.fingerprint)


def analytic_bytes(layers: int, kv_heads: int, head_dim: int, tokens: int, dtype: Any) -> int:
    """Bytes of the raw keys and values: layers x 2 x kv_heads x head_dim x tokens x dtype size
    (``dtype``: a torch dtype, or the name of one of ``DTYPE_NAMES``)."""
    size = _ITEMSIZE.get(dtype_name(dtype)) or int(dtype.itemsize)
    return layers * 2 * kv_heads * head_dim * tokens * size
