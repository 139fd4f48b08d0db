"""``vagent bench kv``: time to first token over k retrieved segments, stored caches vs re-encoding.

In one run: a random-weight language model of a real shape (asked for by name; its answers mean
nothing, its compute and cache sizes are real) encodes ``segments`` blocks of ``tokens`` random
token ids in stream mode behind a prefix, and the KV store (the ``kv_store`` kind's default)
writes one file per segment. Then for each k, the k segments spread evenly over the video are
answered two ways:

- cached: load the prefix's and the k segments' caches from the store (cold host cache, files
  in the OS page cache), splice them (positions kept), run the question, take the first token;
- re-encode: one forward pass over the prefix, the same k segments' tokens and the question.

``speedup`` is re-encode time / cached time (each the best of ``repeats``). Bytes per segment
are the stored file's size against ``layers x 2 x kv_heads x head_dim x tokens x dtype bytes``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from vagent.kv.fingerprint import mode_label
from vagent.kv.packed import analytic_bytes
from vagent.kv.store import store_of
from vagent_hf.kvengine.fingerprint import fingerprint_of
from vagent_hf.kvengine.generate import question_logits
from vagent_hf.kvengine.packing import dtype_of
from vagent_hf.kvengine.prefill import prefill
from vagent_hf.kvengine.random_model import random_lm
from vagent_hf.kvengine.splice import splice


def _best(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """The shortest of ``repeats`` runs of ``fn`` and what that run returned."""
    best, out = float("inf"), None
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        got = fn()
        took = time.perf_counter() - t0
        if took < best:
            best, out = took, got
    return best, out


def _spread(n: int, k: int) -> list[int]:
    """``k`` of ``range(n)`` spread evenly, in order."""
    if k >= n:
        return list(range(n))
    return sorted({round(i * (n - 1) / max(k - 1, 1)) for i in range(k)})


def run(
    json: bool = False,
    *,
    model: str = "smollm2-135m",
    ks: Sequence[int] = (1, 4, 16),
    segments: int | None = None,
    tokens: int = 128,
    prefix_tokens: int = 16,
    question_tokens: int = 24,
    window: int | None = 256,
    store_dtype: str = "bfloat16",
    repeats: int = 2,
    seed: int = 0,
    threads: int | None = None,
) -> dict[str, Any]:
    """Measure (see the module docstring); returns a JSON-safe dict. ``json=False`` also prints
    ``format_table`` of it. ``threads``: torch CPU threads for the run (default: torch's)."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        result = _run(model, ks, segments, tokens, prefix_tokens, question_tokens, window,
                      store_dtype, repeats, seed)  # fmt: skip
    finally:
        torch.set_num_threads(before)
    if not json:
        print(format_table(result))
    return result


def _run(
    model: str,
    ks: Sequence[int],
    segments: int | None,
    tokens: int,
    prefix_tokens: int,
    question_tokens: int,
    window: int | None,
    store_dtype: str,
    repeats: int,
    seed: int,
) -> dict[str, Any]:
    ks = sorted(set(int(k) for k in ks))
    n_seg = segments or max(ks)
    if ks[0] < 1 or ks[-1] > n_seg:
        raise ValueError(f"k must be within 1..{n_seg} (the number of segments)")
    lm = random_lm(model, seed=seed)
    cfg = lm.config
    vocab, dtype = int(cfg.vocab_size), dtype_of(store_dtype)
    g = torch.Generator().manual_seed(seed)
    prefix = torch.randint(0, vocab, (1, prefix_tokens), generator=g)
    blocks = [torch.randint(0, vocab, (1, tokens), generator=g) for _ in range(n_seg)]
    question = torch.randint(0, vocab, (1, question_tokens), generator=g)
    fp = fingerprint_of(lm, "bench kv: random tokens", mode_label("stream", window))
    keys = [str(i) for i in range(n_seg)]
    with tempfile.TemporaryDirectory() as tmp:
        store = store_of(Path(tmp))
        t0 = time.perf_counter()
        done = prefill(
            lm, prefix, blocks, mode="stream", window=window, keys=keys, fingerprint=fp.key,
            store_dtype=dtype,
        )  # fmt: skip
        encode_s = time.perf_counter() - t0
        records = store.put([done.prefix, *done.segments], fp)[1:]
        question_logits(lm, splice([done.prefix, done.segments[0]]), question)  # warm up
        rows = [_measure(lm, store, fp, blocks, prefix, question, _spread(n_seg, k), repeats)
                for k in ks]  # fmt: skip
    heads, head_dim = int(cfg.num_key_value_heads), int(cfg.hidden_size // cfg.num_attention_heads)
    analytic = analytic_bytes(int(cfg.num_hidden_layers), heads, head_dim, tokens, dtype)
    stored = sum(r.bytes for r in records) / len(records)
    return {
        "model": str(cfg._name_or_path),
        "semantic": False,
        "note": "random weights: throughput only",
        "device": "cpu",
        "threads": torch.get_num_threads(),
        "shape": {
            "layers": int(cfg.num_hidden_layers),
            "hidden": int(cfg.hidden_size),
            "heads": int(cfg.num_attention_heads),
            "kv_heads": heads,
            "head_dim": head_dim,
        },
        "segments": n_seg,
        "tokens_per_segment": tokens,
        "prefix_tokens": prefix_tokens,
        "question_tokens": question_tokens,
        "mode": mode_label("stream", window),
        "store_dtype": store_dtype,
        "encode_s_per_segment": round(encode_s / n_seg, 4),
        "bytes_per_segment": round(stored),
        "analytic_bytes_per_segment": analytic,
        "bytes_ratio": round(stored / analytic, 5),
        "repeats": repeats,
        "rows": rows,
    }


def _measure(
    lm: Any,
    store: Any,
    fp: Any,
    blocks: list[torch.Tensor],
    prefix: torch.Tensor,
    question: torch.Tensor,
    picked: list[int],
    repeats: int,
) -> dict[str, Any]:
    keys = ["prefix", *(str(i) for i in picked)]

    def cached() -> dict[str, float]:
        if hasattr(store, "cache"):  # the store's host-memory cache of loaded entries: cold
            store.cache.clear()
        t0 = time.perf_counter()
        batch = store.get(keys, fp)
        if batch.failed:
            raise RuntimeError(f"bench kv: {next(iter(batch.failed.values()))}")
        t1 = time.perf_counter()
        spliced = splice(batch.ordered(keys), dtype=torch.float32)
        t2 = time.perf_counter()
        int(question_logits(lm, spliced, question).argmax())
        t3 = time.perf_counter()
        return {"load_s": t1 - t0, "splice_s": t2 - t1, "question_s": t3 - t2}

    def reencode() -> int:
        ids = torch.cat([prefix, *(blocks[i] for i in picked), question], dim=1)
        with torch.no_grad():
            return int(lm(ids, logits_to_keep=1).logits[0, -1].argmax())

    cached_s, parts = _best(cached, repeats)
    reencode_s, _ = _best(reencode, repeats)
    context = prefix.shape[1] + sum(blocks[i].shape[1] for i in picked)
    return {
        "k": len(picked),
        "context_tokens": int(context),
        "cached_s": round(cached_s, 4),
        **{k: round(v, 4) for k, v in parts.items()},
        "reencode_s": round(reencode_s, 4),
        "speedup": round(reencode_s / cached_s, 2),
    }


def format_table(r: dict[str, Any]) -> str:
    s = r["shape"]
    lines = [
        f"model     {r['model']}  ({r['note']}) on {r['device']}, {r['threads']} threads",
        f"shape     {s['layers']} layers, {s['heads']} heads, {s['kv_heads']} KV heads of "
        f"{s['head_dim']}",
        f"caches    {r['segments']} segments x {r['tokens_per_segment']} tokens, {r['mode']}, "
        f"stored {r['store_dtype']}; encoding once took {r['encode_s_per_segment']:.3f} s/segment",
        f"bytes     {r['bytes_per_segment']:,} B per segment vs analytic "
        f"{r['analytic_bytes_per_segment']:,} B (x{r['bytes_ratio']:.4f})",
        f"time to first token, best of {r['repeats']} "
        f"(+{r['prefix_tokens']} prefix, +{r['question_tokens']} question tokens):",
        "    k  context   cached s  (load / splice / question)   re-encode s   speed-up",
    ]
    for row in r["rows"]:
        lines.append(
            f"{row['k']:>5}  {row['context_tokens']:>7}  {row['cached_s']:>9.3f}  "
            f"({row['load_s']:.3f} / {row['splice_s']:.3f} / {row['question_s']:.3f})"
            f"{'':>6}{row['reencode_s']:>10.3f}   {row['speedup']:>7.1f}x"
        )
    return "\n".join(lines)
