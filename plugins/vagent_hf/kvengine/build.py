"""The model half of `vagent kv build` for transformers answerers (``hf-text``).

``KvModel`` is what prefilling needs from an answerer (the model, its tokenizer, what the
fingerprint is made of); ``HfKvEncoder`` is the ``vagent.kv.encoder.KvEncoder`` the core's
build drives. A segment's cache holds the keys and values of exactly the tokens the answerer
renders for it, encoded behind the answerer's shared prompt prefix (encoded once per build).
Stream mode encodes a video's segments in temporal order, each seeing the prefix and the last
``window`` tokens before it; when the next segment would run past the model's
``max_position_embeddings``, the window is moved back behind the prefix by re-rotating its keys
(``rope``), so positions stay bounded on videos of any length. Independent mode encodes each
segment alone behind the prefix. Answerers re-base the caches they splice to consecutive
positions, so either mode's caches are read the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from vagent.errors import VagentError
from vagent.kv.encoder import KvEncoder
from vagent.kv.fingerprint import DEFAULT_WINDOW, Fingerprint, mode_label
from vagent.kv.packed import KvEntry, dtype_name
from vagent.types import Evidence
from vagent_hf.kvengine.fingerprint import fingerprint_of, weights_digest
from vagent_hf.kvengine.packing import dtype_of, pack
from vagent_hf.kvengine.prefill import encode, extend, model_device, model_dtype, window_of
from vagent_hf.kvengine.rope import Rope, rope_of, shift_packed
from vagent_hf.kvengine.splice import splice


@dataclass
class KvModel:
    """What prefilling needs from an answerer: ``model`` (a transformers causal LM), ``tokenize``
    (text to the ids the answerer feeds, no special tokens added), and what the fingerprint is
    made of: ``model_id``, ``revision`` (None: a digest of the loaded weights) and ``template``
    (text that changes whenever the answerer's prompt rendering does)."""

    model: Any
    tokenize: Callable[[str], list[int]]
    model_id: str
    template: str
    revision: str | None = None
    _fingerprints: dict[str, Fingerprint] = field(default_factory=dict, repr=False)

    def fingerprint(self, prefill: str) -> Fingerprint:
        """The fingerprint of caches made in mode ``prefill`` (``mode_label``)."""
        if prefill not in self._fingerprints:
            rev = self.revision or f"weights:{weights_digest(self.model)}"
            self.revision = rev
            self._fingerprints[prefill] = fingerprint_of(
                self.model, self.template, prefill, model_id=self.model_id, revision=rev
            )
        return self._fingerprints[prefill]


def _max_positions(model: Any) -> int:
    cfg = model.config
    cfg = cfg.get_text_config(decoder=True) if hasattr(cfg, "get_text_config") else cfg
    return int(getattr(cfg, "max_position_embeddings", 0) or 2**62)


def _rebase(history: list[KvEntry], start: int, rope: Rope) -> list[KvEntry]:
    out, cursor = [], start
    for e in history:
        out.append(KvEntry(e.key, shift_packed(e.kv, cursor - e.start, rope), cursor))
        cursor += e.tokens
    return out


class HfKvEncoder(KvEncoder):
    """Prefills with ``km``'s model: ``prefix`` is the answerer's shared prompt prefix and
    ``render`` its text for one segment; ``dtype`` the stored caches' dtype name (default: the
    model's, so cached answers match re-encoded ones). Refuses (``UnsupportedRope``) a model
    whose rotary embedding cannot be re-based."""

    def __init__(
        self,
        km: KvModel,
        prefix: str,
        render: Callable[[Evidence], str],
        mode: str = "stream",
        window: int | None = DEFAULT_WINDOW,
        dtype: str | None = None,
    ) -> None:
        label = mode_label(mode, window)
        if mode == "stream" and (window is None or window < 1):
            raise ValueError(f"stream mode needs a window of at least 1 token, got {window}")
        self.km, self.render, self.mode, self.window = km, render, mode, window
        self.fingerprint = km.fingerprint(label)
        self.rope = rope_of(km.model)
        self.store_dtype = dtype_of(dtype) if dtype else model_dtype(km.model)
        self.dtype = dtype_name(self.store_dtype)
        self.device = model_device(km.model)
        head = next(iter(encode(km.model, km.tokenize(prefix), [])))
        self.head = KvEntry("prefix", head.kv.to(self.device), 0)
        self.limit = _max_positions(km.model)

    @torch.no_grad()
    def encode(
        self,
        evidence: Sequence[Evidence],
        keys: Sequence[str],
        before: Sequence[KvEntry] = (),
    ) -> Iterator[KvEntry]:
        model, p, stream = self.km.model, self.head.end, self.mode == "stream"
        history: list[KvEntry] = []
        if stream and before and self.window:
            dtype = model_dtype(model)
            moved = [KvEntry(e.key, e.kv.to(self.device, dtype), e.start) for e in before]
            history = window_of(moved, self.window)
        position = history[-1].end if history else p
        for ev, key in zip(evidence, keys, strict=True):
            ids = torch.tensor([self.km.tokenize(self.render(ev))])
            n = int(ids.shape[1])
            if stream and position + n > self.limit:
                history = _rebase(history, p, self.rope)  # the window moves back behind the prefix
                position = history[-1].end if history else p
            start = position if stream else p
            if start + n > self.limit:
                raise VagentError(
                    f"segment {ev.segment_id} of {ev.video} needs positions up to {start + n}, "
                    f"past the model's {self.limit}: build with a smaller window or --mode "
                    "independent"
                )
            ctx = splice([self.head, *history])
            begin = ctx.length
            extend(model, ctx, {"input_ids": ids.to(self.device)}, start=start)
            kv = pack(ctx.cache, begin, begin + n, device=self.device)
            yield KvEntry(key, kv.to("cpu", self.store_dtype), start)
            if stream:
                assert self.window is not None
                history = window_of([*history, KvEntry(key, kv, start)], self.window)
                position = start + n
