"""``hf-text``'s forward passes over a prompt laid out in pieces (``text.Layout``).

The context (prefix, evidence blocks, question) is either encoded in one pass (plain), or put
together from stored segment caches (cached): the prefix's cache (encoded once per loaded
model), then each shown block's stored cache re-based to sit right after what precedes it
(its keys re-rotated, ``kvengine.rope``), with the blocks that have no usable cache and the
question encoded in place. Either way the same token ids sit at the same positions; the paths
differ only in where the evidence's keys and values come from (a cached segment was encoded
with its own video's context, not with the other evidence shown). Then the options are scored,
or an answer generated greedily, over that context.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from transformers import DynamicCache

from vagent.kv.packed import KvEntry
from vagent.types import Draft, Question
from vagent_hf.evidence import check_option_count, choice_draft, used_evidence
from vagent_hf.kvengine.packing import cache_layers
from vagent_hf.kvengine.prefill import cache_kwarg, encode, extend, model_device, model_dtype
from vagent_hf.kvengine.rope import rope_of, shift_packed
from vagent_hf.kvengine.splice import Spliced, splice
from vagent_hf.lm import letter_probs

if TYPE_CHECKING:
    from vagent_hf.text import HFTextAnswerer, Layout


def usable(ans: HFTextAnswerer, q: Question, lay: Layout) -> list[KvEntry | None]:
    """Per shown block, its evidence's ``kv`` when that is a cache of one of ``ans``'s
    fingerprints, stored under the evidence's current key and of the block's length; else
    None (that block is encoded in place)."""
    if not any(q.evidence[i].kv is not None for i in lay.kept):
        return [None] * len(lay.blocks)
    accepted = {fp.key for fp in ans.kv_fingerprints()}
    out: list[KvEntry | None] = []
    for i, block in zip(lay.kept, lay.blocks):
        e, kv = q.evidence[i], q.evidence[i].kv
        ok = (
            isinstance(kv, KvEntry)
            and kv.fingerprint in accepted
            and kv.key == ans.kv_key(e)
            and kv.tokens == len(block)
        )
        out.append(kv if ok else None)
    return out


def prefix_entry(ans: HFTextAnswerer, ids: list[int]) -> KvEntry:
    """The prefix's cache, on the model's device (encoded once, as ``vagent kv build`` does)."""
    held = ans._prefix_kv
    if held is None or held.tokens != len(ids):
        model = ans.backend.model
        head = next(iter(encode(model, ids, [])))
        held = ans._prefix_kv = KvEntry("prefix", head.kv.to(model_device(model)), 0)
    return held


def _ids(ids: list[int], device: torch.device) -> dict[str, torch.Tensor]:
    return {"input_ids": torch.tensor([ids], dtype=torch.long, device=device)}


@torch.no_grad()
def context(
    ans: HFTextAnswerer, lay: Layout, entries: list[KvEntry | None]
) -> tuple[Spliced, torch.Tensor, int]:
    """The cache after the whole prompt, the last position's logits, and how many evidence
    tokens came from stored caches."""
    model = ans.backend.model
    device, dtype = model_device(model), model_dtype(model)
    if not any(e is not None for e in entries):
        sp = Spliced(DynamicCache(), torch.zeros(0, dtype=torch.long))
        return sp, extend(model, sp, _ids(lay.ids, device)), 0
    head = prefix_entry(ans, lay.prefix)
    rope = rope_of(model)
    sp = splice([head])
    cursor, reused, pending = head.end, 0, []
    for block, entry in zip(lay.blocks, entries):
        if entry is None:
            pending.extend(block)
            continue
        if pending:
            extend(model, sp, _ids(pending, device), start=cursor)
            cursor, pending = cursor + len(pending), []
        kv = shift_packed(entry.kv.to(device=device, dtype=dtype), cursor - entry.start, rope)
        for layer in range(kv.shape[0]):
            sp.cache.update(kv[layer, 0].unsqueeze(0), kv[layer, 1].unsqueeze(0), layer)
        sp.advance(entry.tokens, cursor)
        cursor, reused = cursor + entry.tokens, reused + entry.tokens
    logits = extend(model, sp, _ids(pending + lay.suffix, device), start=cursor)
    return sp, logits, reused


@torch.no_grad()
def cloze(ans: HFTextAnswerer, sp: Spliced, last: torch.Tensor, options: list[str]) -> np.ndarray:
    """Each option's text as the answer, all in one batched pass over the context: summed
    log-probability per character (lm-eval's ``acc_norm``), softmax over the options."""
    model = ans.backend.model
    texts = [" ".join(o.split()) or "?" for o in options]
    ids = [ans.backend.tokens(" " + t) for t in texts]
    n, m, device = len(ids), max(len(x) for x in ids), model_device(model)
    batch = torch.zeros((n, m), dtype=torch.long)
    for b, x in enumerate(ids):
        batch[b, : len(x)] = torch.tensor(x)  # right-padded: the padding sees, is never seen
    cache = DynamicCache(
        ddp_cache_data=[(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1))
                        for k, v in cache_layers(sp.cache)]
    )  # fmt: skip
    start = sp.next_position
    logits = model(
        input_ids=batch.to(device),
        position_ids=torch.arange(start, start + m, device=device).expand(n, m),
        attention_mask=torch.ones(n, sp.length + m, dtype=torch.long, device=device),
        **{cache_kwarg(model): cache},
        use_cache=True,
    ).logits.float()
    first = torch.log_softmax(last.float(), dim=-1)
    scores = []
    for b, x in enumerate(ids):
        rest = torch.log_softmax(logits[b, : len(x) - 1], dim=-1)
        total = float(first[x[0]]) + float(
            rest.gather(1, batch[b, 1 : len(x), None].to(device)).sum()
        )
        scores.append(total / len(texts[b]))
    s = np.array(scores, dtype=np.float64)
    p = np.exp(s - s.max())
    return np.asarray(p / p.sum())


@torch.no_grad()
def greedy(ans: HFTextAnswerer, sp: Spliced, last: torch.Tensor) -> tuple[str, float | None, int]:
    """Greedy decoding after the context: the text, the geometric mean of the chosen tokens'
    probabilities (None when nothing was generated), and the steps taken."""
    b = ans.backend
    stop, device = set(b.stop_ids()), model_device(b.model)
    out: list[int] = []
    logps: list[float] = []
    logits, steps = last, 0
    for _ in range(ans.max_new_tokens):
        row = torch.log_softmax(logits.float(), dim=-1)
        token = int(row.argmax())
        steps += 1
        if token in stop:
            break
        out.append(token)
        logps.append(float(row[token]))
        if len(out) == ans.max_new_tokens:
            break
        logits = extend(b.model, sp, _ids([token], device))
    text = b.tokenizer.decode(out, skip_special_tokens=True).strip()
    return text, (math.exp(sum(logps) / len(logps)) if logps else None), steps


def answer_one(ans: HFTextAnswerer, q: Question) -> Draft:
    """One question, from stored caches where the evidence carries usable ones."""
    lay = ans.layout(q)
    options = list(q.options) if q.options is not None else None
    if options is not None:
        check_option_count(ans.id, options)
    entries = usable(ans, q, lay)
    sp, last, reused = context(ans, lay, entries)
    cached = sum(e is not None for e in entries)
    meta: dict[str, Any] = {
        **ans._meta(len(lay.ids), 0, lay.kept, 0),
        "source": "kv" if cached else "text",
        "kv_segments": cached,
        "kv_tokens": reused,
    }
    if options is None:
        text, confidence, steps = greedy(ans, sp, last)
        meta["new_tokens"] = steps
        return Draft(text=text, confidence=confidence, used=used_evidence(text, q.evidence),
                     meta=meta)  # fmt: skip
    if ans.mc == "cloze":
        probs = cloze(ans, sp, last, options)
    else:
        probs = letter_probs(ans.backend, last, len(options))
    return choice_draft(options, probs, q.evidence, {**meta, "mc": ans.mc})
