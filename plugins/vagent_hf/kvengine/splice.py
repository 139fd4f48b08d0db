"""Splicing stored per-segment caches into one transformers ``DynamicCache``.

Entries are laid out in temporal order, one after another along the token axis. Positions are
either kept (``rebase=False``: each token stays at the position it was encoded at, so a skipped
segment leaves a gap in the positions; stream-mode caches) or re-based (``rebase=True``: entries
are moved, by re-rotating their keys, to consecutive positions from ``start``; independent-mode
caches, or stream caches whose absolute positions run past what the model was trained on).

With gaps, the tokens that follow must be fed with explicit ``position_ids`` (transformers 5
derives positions from the cache length otherwise) and a 2-D all-ones ``attention_mask`` (without
one, gapped position ids are read as packed sequences and attention is cut at each gap);
``Spliced.inputs(n)`` builds both. The cache is built without the model config: a config with a
sliding window would make the cache drop all but the window's tokens at construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import torch
from transformers import DynamicCache

from vagent.kv.errors import KvMismatch
from vagent.kv.packed import KvEntry
from vagent_hf.kvengine.rope import Rope, shift_packed


@dataclass
class Spliced:
    """A ready cache: ``positions`` (tokens,) int64 is the position of each cached token."""

    cache: DynamicCache
    positions: torch.Tensor
    keys: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)  # (start, end) per entry

    @property
    def length(self) -> int:
        return int(self.positions.numel())

    @property
    def next_position(self) -> int:
        return int(self.positions.max()) + 1 if self.length else 0

    def inputs(
        self, n: int, device: torch.device | str | None = None, start: int | None = None
    ) -> dict[str, torch.Tensor]:
        """``position_ids`` (1, n) from ``start`` (default: right after the cache) and the
        (1, length + n) all-ones attention mask."""
        start = self.next_position if start is None else start
        if start < self.next_position:
            raise ValueError(f"new tokens at {start} would sit before the cache's last position")
        return {
            "position_ids": torch.arange(start, start + n, device=device).unsqueeze(0),
            "attention_mask": torch.ones(1, self.length + n, dtype=torch.long, device=device),
        }

    def advance(self, n: int, start: int | None = None) -> None:
        """Record ``n`` tokens appended to the cache by a forward pass after ``inputs(n, ...)``."""
        start = self.next_position if start is None else start
        self.positions = torch.cat((self.positions, torch.arange(start, start + n)))


def check_fingerprints(entries: Sequence[KvEntry], fingerprint: str) -> None:
    """Raise ``KvMismatch`` unless every entry was made under ``fingerprint`` (a key)."""
    bad = [e.key for e in entries if e.fingerprint != fingerprint]
    if bad:
        raise KvMismatch(
            f"KV caches of segment(s) {', '.join(bad[:5])} were made under another model, "
            f"revision, dtype or prompt template (fingerprint {entries[0].fingerprint or '?'} "
            f"!= {fingerprint}); re-encode them with this model or answer from frames"
        )


def splice(
    entries: Sequence[KvEntry],
    *,
    rebase: bool = False,
    start: int | None = None,
    rope: Rope | None = None,
    fingerprint: str | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Spliced:
    """Concatenate ``entries`` into one cache (batch 1) in ``dtype`` on ``device``.

    ``rebase=False``: entries are sorted by position and must not overlap (segments of one video,
    all made in one stream). ``rebase=True``: entries keep the order given and are moved to
    consecutive positions from ``start`` (default: the first entry's); needs ``rope``.
    ``fingerprint``: when given, every entry must carry it (``KvMismatch`` otherwise).
    """
    if not entries:
        raise ValueError("splice: no KV entries")
    if fingerprint is not None:
        check_fingerprints(entries, fingerprint)
    shapes = {(e.layers, e.kv.shape[2], e.kv.shape[4]) for e in entries}
    if len(shapes) > 1:
        raise KvMismatch(f"KV entries of different model shapes cannot be spliced: {shapes}")
    # convert first, so re-rotated keys are rounded once, to the dtype the model reads
    entries = [
        KvEntry(e.key, e.kv.to(dtype=dtype or e.kv.dtype, device=device or e.kv.device), e.start,
                e.fingerprint)
        for e in entries
    ]  # fmt: skip
    if rebase:
        placed, cursor = [], entries[0].start if start is None else start
        for e in entries:
            kv = e.kv
            if cursor != e.start:
                if rope is None:
                    raise ValueError("splice: rebase=True moves keys, so it needs the model's rope")
                kv = shift_packed(e.kv, cursor - e.start, rope)
            placed.append(KvEntry(e.key, kv, cursor, e.fingerprint))
            cursor += e.tokens
        ordered = placed
    else:
        ordered = sorted(entries, key=lambda e: e.start)
        for a, b in pairwise(ordered):
            if b.start < a.end:
                raise ValueError(
                    f"splice: segments {a.key} [{a.start}, {a.end}) and {b.key} [{b.start}, "
                    f"{b.end}) overlap in position (different videos or streams?): splice "
                    "with rebase=True"
                )
    big = torch.cat([e.kv for e in ordered], dim=3)
    cache = DynamicCache(
        ddp_cache_data=[(big[i, 0].unsqueeze(0), big[i, 1].unsqueeze(0)) for i in range(len(big))]
    )
    positions = torch.cat([torch.arange(e.start, e.end) for e in ordered])
    return Spliced(cache, positions, [e.key for e in ordered], [(e.start, e.end) for e in ordered])
