"""Encoding video segments through a causal LM once, keeping each segment's KV cache.

Two modes:

- ``stream`` (ReKV style): segments in temporal order behind a shared prompt prefix, at absolute
  positions. Each segment attends to the prefix and to the last ``window`` tokens of the segments
  before it, so it carries context; with ``window=None`` it sees everything before it and the
  segments' caches are exactly slices of one long forward pass. Splice them with positions kept.
- ``independent``: each segment alone behind the prefix, at positions ``P .. P + n - 1``
  (``P`` the prefix length). Splice them re-based to consecutive positions.

A segment is given as token ids (a list or a (1, n) tensor) or as a mapping of model inputs
holding ``input_ids`` (1, n) and whatever else the model's forward takes for it (a VLM's
``pixel_values`` and image sizes): the mapping is passed to ``model(**inputs)`` as is, with
``position_ids``, ``attention_mask`` and the cache (``cache_kwarg``) added. Every token of
``input_ids`` takes one position and one cache slot.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import DynamicCache

from vagent.kv.fingerprint import DEFAULT_WINDOW, mode_label
from vagent.kv.packed import KvEntry
from vagent_hf.kvengine.packing import pack
from vagent_hf.kvengine.splice import Spliced, splice

SegmentInput = Sequence[int] | torch.Tensor | Mapping[str, Any]


@dataclass
class Prefilled:
    """The prefix's cache (key ``prefix``) and one entry per segment, in the order given."""

    prefix: KvEntry
    segments: list[KvEntry] = field(default_factory=list)
    mode: str = "stream"
    window: int | None = None


def as_inputs(segment: SegmentInput, device: torch.device | str) -> dict[str, Any]:
    """A segment as model inputs with ``input_ids`` (1, n) on ``device``."""
    if isinstance(segment, Mapping):
        inputs = dict(segment)
        if "input_ids" not in inputs:
            raise ValueError("a segment's inputs need input_ids")
    else:
        inputs = {"input_ids": segment}
    ids = torch.as_tensor(inputs["input_ids"], dtype=torch.long)
    if ids.dim() == 1:
        ids = ids.unsqueeze(0)
    if ids.dim() != 2 or ids.shape[0] != 1 or ids.shape[1] == 0:
        raise ValueError(f"a segment's input_ids must be (1, n) with n > 0, got {list(ids.shape)}")
    inputs["input_ids"] = ids
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}


def model_device(model: Any) -> torch.device:
    return next(model.parameters()).device


def model_dtype(model: Any) -> torch.dtype:
    return next(model.parameters()).dtype


def cache_kwarg(model: Any) -> str:
    """The keyword ``model``'s forward takes the KV cache under: ``cache`` in transformers 5.x
    (where ``past_key_values`` is deprecated and warns), ``past_key_values`` before."""
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return "past_key_values"
    return "cache" if "cache" in params else "past_key_values"


@torch.no_grad()
def extend(
    model: Any, spliced: Spliced, inputs: Mapping[str, Any], start: int | None = None
) -> torch.Tensor:
    """Run ``inputs`` through ``model`` after the cache in ``spliced`` (which grows by their
    tokens), from position ``start`` (default: right after the cache); return the last token's
    logits (vocab,)."""
    n = int(inputs["input_ids"].shape[1])
    device = model_device(model)
    out = model(
        **inputs,
        **spliced.inputs(n, device, start),
        **{cache_kwarg(model): spliced.cache},
        use_cache=True,
        logits_to_keep=1,
    )
    spliced.advance(n, start)
    return out.logits[0, -1]


def _empty() -> Spliced:
    return Spliced(DynamicCache(), torch.zeros(0, dtype=torch.long))


@torch.no_grad()
def encode(
    model: Any,
    prefix: SegmentInput,
    segments: Iterable[SegmentInput],
    *,
    mode: str = "stream",
    window: int | None = DEFAULT_WINDOW,
    keys: Iterable[str] | None = None,
    starts: Iterable[int] | None = None,
    fingerprint: str = "",
    store_dtype: torch.dtype | None = None,
) -> Iterator[KvEntry]:
    """Encode ``prefix`` then ``segments`` one at a time (see the module docstring), yielding
    the prefix's entry (key ``prefix``) and then each segment's as soon as it is made, on the
    CPU in ``store_dtype`` (default: the model's dtype), so a long video streams into a store
    in bounded memory. ``keys`` name the segments (default their indices); ``fingerprint`` is
    stamped on every entry. ``starts``: the first position of each segment (default: stream
    mode right after the segment before, independent mode right after the prefix); in stream
    mode they must not overlap what came before, and a gap is kept as a gap."""
    mode_label(mode, window)
    if window is not None and window < 0:
        raise ValueError(f"prefill window must be >= 0 tokens, got {window}")
    device, dtype = model_device(model), model_dtype(model)
    out_dtype = store_dtype or dtype
    running = _empty()
    extend(model, running, as_inputs(prefix, device))
    n_prefix = running.length
    head = KvEntry("prefix", pack(running.cache, 0, n_prefix, device=device), 0, fingerprint)
    yield KvEntry("prefix", head.kv.to("cpu", out_dtype), 0, fingerprint)
    history: list[KvEntry] = []  # the window's worth of earlier segments, full precision
    key_iter = iter(keys) if keys is not None else (str(i) for i in itertools.count())
    start_iter = iter(starts) if starts is not None else None
    position = n_prefix
    for segment in segments:
        key = str(next(key_iter))
        inputs = as_inputs(segment, device)
        n = int(inputs["input_ids"].shape[1])
        if start_iter is not None:
            position = int(next(start_iter))
        if position < n_prefix or (mode == "stream" and history and position < history[-1].end):
            raise ValueError(f"segment {key} would start at {position}, inside what precedes it")
        # window None: keep extending one cache; else the prefix and the window, positions kept
        ctx = running if mode == "stream" and window is None else splice([head, *history])
        begin = ctx.length
        extend(model, ctx, inputs, start=position)
        kv = pack(ctx.cache, begin, begin + n, device=device)
        yield KvEntry(key, kv.to("cpu", out_dtype), position, fingerprint)
        if mode == "stream":
            if window is not None:
                history = window_of([*history, KvEntry(key, kv, position)], window)
            position += n


def prefill(
    model: Any,
    prefix: SegmentInput,
    segments: Sequence[SegmentInput],
    *,
    mode: str = "stream",
    window: int | None = DEFAULT_WINDOW,
    keys: Sequence[str] | None = None,
    starts: Sequence[int] | None = None,
    fingerprint: str = "",
    store_dtype: torch.dtype | None = None,
) -> Prefilled:
    """``encode`` into memory: the prefix's entry and every segment's, in order."""
    if keys is not None and len(keys) != len(segments):
        raise ValueError(f"{len(keys)} keys for {len(segments)} segments")
    if starts is not None and len(starts) != len(segments):
        raise ValueError(f"{len(starts)} start positions for {len(segments)} segments")
    head, *entries = encode(
        model, prefix, segments, mode=mode, window=window, keys=keys, starts=starts,
        fingerprint=fingerprint, store_dtype=store_dtype,
    )  # fmt: skip
    return Prefilled(head, entries, mode, window if mode == "stream" else None)


def window_of(history: Sequence[KvEntry], window: int) -> list[KvEntry]:
    """The last ``window`` tokens of ``history`` (entries, partial first one), oldest first."""
    out: list[KvEntry] = []
    left = window
    for e in reversed(history):
        if left <= 0:
            break
        out.append(e.tail(left))
        left -= e.tokens
    return out[::-1]
