"""Stored KV caches end to end: `vagent kv build` over a real library (PyAV, FAISS, SQLite,
MiniLM on subtitles), then the agent with the real ``hf-text`` SmolLM2 answering from the caches
instead of re-encoding the evidence; corrupt, stale and orphaned caches; `vagent kv info/prune`.

SmolLM2 loads from a converted copy: the one in $VAGENT_MODEL_CACHE (or ~/.cache/vagent/models)
when it is there, else one converted once into a temporary folder for this module.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from safetensors.torch import load
from vagent_kvstore.files import file_key

from tests.conftest import COOKING_SRT as SRT
from tests.plugins import colour
from vagent import Agent, AgentConfig, Library, plugins
from vagent.agent import lookup
from vagent.cli import cli
from vagent.kv import build as kvbuild
from vagent.kv.build import build_caches
from vagent.kv.maintain import kv_info, library_rows, parse_size, prune
from vagent.synth import make_video
from vagent.types import Evidence, Question

OVEN = ("What temperature must the oven reach?", ["one hundred", "two hundred degrees", "fifty"])
SCORE_TOL = 0.01  # option probabilities, cached vs plain (other evidence unseen by a cache)
EXACT_TOL = 1e-4  # one video's whole stream: the caches are slices of one forward pass


@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from vagent_hf import cache

    with pytest.MonkeyPatch.context() as mp:
        try:
            converted = (cache.smollm2_dir() / "config.json").is_file()
        except Exception:
            converted = False
        if not converted:  # never write into the user's cache: convert once, here
            mp.setenv("VAGENT_MODEL_CACHE", str(tmp_path_factory.mktemp("models")))
        ans = plugins.registry().create("answerer", "hf-text")
        ans.load()
        yield ans


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A library of two videos, one with subtitles, indexed once; tests work on copies."""
    plugins.add_plugin("testcolour", colour)
    base = tmp_path_factory.mktemp("kvlib")
    videos = base / "videos"
    videos.mkdir()
    make_video(videos / "cook.mp4", ["red", "green", "blue", "yellow", "white"], 10.0,
               size=(160, 120))  # fmt: skip
    (videos / "cook.srt").write_text(SRT)
    make_video(videos / "plain.mp4", ["blue"], 12.0, size=(160, 120))
    make_video(base / "extra.mp4", ["green", "red"], 10.0, size=(160, 120))
    lib = Library.open(base / "src" / "lib")
    assert lib.index([videos], encoder="colour", text="subtitles", progress=False).ok
    lib.close()
    yield base
    plugins.remove_plugin("testcolour")


@pytest.fixture
def lib(indexed: Path, tmp_path: Path) -> Iterator[Library]:
    shutil.copytree(indexed / "src" / "lib", tmp_path / "lib")
    library = Library.open(tmp_path / "lib")
    yield library
    library.close()


def _agent(lib: Library, ans: Any) -> Agent:
    cfg = AgentConfig(refinements=0)  # one round: the comparison is about the caches
    return Agent(lib, ans, "rules", cfg, {"answerer": ans.id}, False, "qa")


def _ask(lib: Library, ans: Any, q: tuple[str, list[str]] = OVEN) -> tuple[Any, dict, dict]:
    res = _agent(lib, ans).ask(*q)
    nodes = res.trace["nodes"]
    gather = next(n for n in nodes if n["node"] == "gather")
    answer = next(n for n in nodes if n["node"] == "answer")
    return res, gather, answer


def _run(*args: str) -> dict[str, Any]:
    res = CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output + res.stderr
    out: dict[str, Any] = json.loads(res.stdout)
    return out


def _kv_files(lib: Library) -> list[Path]:
    return sorted((lib.root / "kv").glob("*.safetensors"))


@pytest.mark.slow
def test_answers_from_caches_match_the_plain_path(lib: Library, answerer: Any) -> None:
    plain, g0, a0 = _ask(lib, answerer)
    assert g0["source"] == "text" and g0["kv_segments"] == 0 and a0["source"] == "text"
    report = build_caches(lib, answerer=answerer, progress=False)
    n = lib.catalog.counts(lib.settings().id)["segments"]
    assert report["built"] == n == len(_kv_files(lib)) and report["prefill"] == "stream/w2048"
    assert report["dtype"] == "float32" and report["tokens"] > 0
    cached, g1, a1 = _ask(lib, answerer)
    moments = len(cached.trace["evidence"])
    assert g1["source"] == "kv" and g1["kv_segments"] == g1["kv_of"] == moments > 1
    assert g1["kv_corrupt"] == [] and all(e["kv"] for e in cached.trace["evidence"])
    assert a1["source"] == "kv" and a1["kv_segments"] == moments
    assert cached.trace["draft"]["meta"]["kv_tokens"] > 0
    # the same evidence, the same choice, nearly the same option scores
    assert [e["segment_id"] for e in cached.trace["evidence"]] == [
        e["segment_id"] for e in plain.trace["evidence"]
    ]
    assert cached.choice == plain.choice == "B"
    s0, s1 = plain.trace["draft"]["option_scores"], cached.trace["draft"]["option_scores"]
    assert max(abs(x - y) for x, y in zip(s0, s1)) < SCORE_TOL, (s0, s1)
    meta0, meta1 = plain.trace["draft"]["meta"], cached.trace["draft"]["meta"]
    assert meta0["prompt_tokens"] == meta1["prompt_tokens"]  # the same tokens, fewer encoded


def _whole_video(lib: Library, name: str) -> list[Evidence]:
    video = next(v for v in lib.videos() if v.path.endswith(name))
    segs = sorted(
        (s for s in lib.catalog.segments_by_id(list(range(1, 100))).values()
         if s.video_id == video.id),
        key=lambda s: s.start,
    )  # fmt: skip
    spans = lookup.spans_in(lib.catalog, [(video.id, s.start, s.end) for s in segs])
    return [
        Evidence(video.path, video.id, s.id, s.start, s.end, 1.0, texts=t)
        for s, t in zip(segs, spans)
    ]


@pytest.mark.slow
def test_a_whole_stream_spliced_is_the_plain_prompt(lib: Library, answerer: Any) -> None:
    build_caches(lib, answerer=answerer, progress=False)
    evidence = _whole_video(lib, "cook.mp4")
    fp = answerer.kv_fingerprints()[0]
    batch = kvbuild.store_of(lib.root).get([answerer.kv_key(e) for e in evidence], fp)
    assert not batch.failed
    q = Question(OVEN[0], OVEN[1], evidence)
    plain = answerer.answer([q])[0]
    for e in evidence:
        e.kv = batch.entries[answerer.kv_key(e)]
    cached = answerer.answer([q])[0]
    assert cached.meta["source"] == "kv" and cached.meta["kv_segments"] == len(evidence)
    assert (
        plain.meta["source"] == "text"
        and plain.meta["prompt_tokens"] == cached.meta["prompt_tokens"]
    )
    diff = max(abs(x - y) for x, y in zip(plain.option_scores or [], cached.option_scores or []))
    assert cached.choice == plain.choice and diff < EXACT_TOL, diff
    # an open question decodes the same words from the caches
    q = Question("What do we add after the break?", None, evidence)
    cached_open = answerer.answer([q])[0]
    for e in evidence:
        e.kv = None
    assert cached_open.meta["source"] == "kv" and cached_open.text
    assert answerer.answer([q])[0].text == cached_open.text


@pytest.mark.slow
def test_a_corrupt_cache_is_named_and_the_question_still_answers(
    lib: Library, answerer: Any
) -> None:
    build_caches(lib, answerer=answerer, progress=False)
    _, g, _ = _ask(lib, answerer)
    assert g["kv_segments"] == g["kv_of"]
    victim = next(f for f in _kv_files(lib) if f.name.startswith("3-"))  # cook.mp4, 0:20-0:30
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    res, g, a = _ask(lib, answerer)
    assert g["source"] == "kv" and g["kv_segments"] == g["kv_of"] - 1
    assert len(g["kv_corrupt"]) == 1 and victim.name in g["kv_corrupt"][0]
    assert g["kv_corrupt"][0].startswith("segment 3:")
    assert a["kv_segments"] == g["kv_of"] - 1 and res.choice == "B"
    # a rebuild replaces the truncated file (in stream mode, with the rest of its video)
    again = _run("kv", "build", "--library", str(lib.root))
    assert again["built"] >= 1 and again["already_cached"] >= 1
    _, g, _ = _ask(lib, answerer)
    assert g["kv_corrupt"] == [] and g["kv_segments"] == g["kv_of"]
    # a flipped bit keeps the size: `kv info` no longer counts it, and a build remakes it
    other = next(f for f in _kv_files(lib) if not f.name.startswith("3-"))
    data = bytearray(other.read_bytes())
    data[-3] ^= 0x10
    other.write_bytes(bytes(data))
    info = _run("kv", "info", "--library", str(lib.root))
    assert info["segments_cached"] == info["segments"] - 1
    assert [d["file"] for d in info["damaged"]] == [other.name]
    assert _run("kv", "build", "--library", str(lib.root))["built"] >= 1
    info = _run("kv", "info", "--library", str(lib.root))
    assert info["segments_cached"] == info["segments"] and info["damaged"] == []


@pytest.mark.slow
def test_builds_are_incremental_and_resume_after_a_kill(
    lib: Library, answerer: Any, indexed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = lib.catalog.counts(lib.settings().id)["segments"]
    first = build_caches(lib, answerer=answerer, progress=False)
    reference = {f.name: f.read_bytes() for f in _kv_files(lib)}
    again = build_caches(lib, answerer=answerer, progress=False)
    assert again["built"] == 0 and again["already_cached"] == n == first["built"]
    # a kill after three segments landed keeps them; the rerun builds the rest, the same
    assert prune(lib, 0)["dropped"] == n and not _kv_files(lib)
    monkeypatch.setattr(kvbuild, "FLUSH", 1)
    real_put, calls = kvbuild._flush, []

    def dying(run: Any, pending: Any) -> None:
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(1)
        real_put(run, pending)

    monkeypatch.setattr(kvbuild, "_flush", dying)
    with pytest.raises(KeyboardInterrupt):
        build_caches(lib, answerer=answerer, progress=False)
    monkeypatch.setattr(kvbuild, "_flush", real_put)
    assert len(library_rows(lib.catalog, lib.settings().id)) == 3
    resumed = build_caches(lib, answerer=answerer, progress=False)
    assert resumed["built"] == n - 3 and resumed["already_cached"] == 3
    assert {f.name for f in _kv_files(lib)} == set(reference)
    for f in _kv_files(lib):  # resumed from the stored window: the caches of one whole run
        a, b = load(f.read_bytes())["kv"], load(reference[f.name])["kv"]
        assert float((a - b).abs().max()) < 1e-5, f.name
    # a new video: only its segments are built
    lib.index([indexed / "extra.mp4"], progress=False)
    added = build_caches(lib, answerer=answerer, progress=False)
    assert added["videos_built"] == 1 and added["built"] == 2 and added["already_cached"] == n


@pytest.mark.slow
def test_kv_info_prune_and_orphans(lib: Library, answerer: Any) -> None:
    assert _run("kv", "info", "--library", str(lib.root))["segments_cached"] == 0
    built = _run("kv", "build", "--library", str(lib.root), "--mode", "independent")
    assert built["prefill"] == "independent" and built["built"] > 0
    _, g, a = _ask(lib, answerer)  # independent caches are read too
    assert g["source"] == "kv" and a["kv_segments"] == g["kv_of"]
    info = _run("kv", "info", "--library", str(lib.root))
    assert info["segments_cached"] == info["segments"] == built["built"]
    assert info["bytes"] == sum(f.stat().st_size for f in _kv_files(lib))
    (fp,) = info["fingerprints"]
    assert fp["fingerprint"] == built["fingerprint"] and fp["dtype"] == "float32"
    assert fp["model"].startswith("HuggingFaceTB/SmolLM2-135M") and fp["layers"] == 30
    assert info["orphans"] == {"files": 0, "bytes": 0}
    # removing a video drops its rows; its files are orphans until pruned
    plain = [v.path for v in lib.videos() if v.path.endswith("plain.mp4")]
    lib.remove(plain)
    info = _run("kv", "info", "--library", str(lib.root))
    assert info["orphans"]["files"] == 2 and info["segments_cached"] == built["built"] - 2
    budget = info["bytes"] // 2
    pruned = _run("kv", "prune", "--library", str(lib.root), "--max-bytes", str(budget))
    assert pruned["orphans_dropped"] == 2 and pruned["kept_bytes"] <= budget
    assert pruned["dropped"] >= 1 and pruned["kept"] == info["caches"] - pruned["dropped"]
    after = kv_info(lib)
    assert after["orphans"]["files"] == 0 and after["bytes"] <= budget
    assert len(_kv_files(lib)) == after["caches"] == pruned["kept"]


@pytest.mark.slow
def test_long_streams_stay_within_the_models_positions(
    lib: Library, answerer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = len(answerer.backend.tokens(answerer.prefix()))
    limit = prefix + 80  # a few segments' worth: the window moves back behind the prefix
    from vagent_hf.kvengine import build as hfbuild

    monkeypatch.setattr(hfbuild, "_max_positions", lambda model: limit)
    report = build_caches(lib, answerer=answerer, window=40, progress=False)
    rows = library_rows(lib.catalog, lib.settings().id)
    assert len(rows) == report["built"] > 0
    assert all(prefix <= r.pos_start < r.pos_end <= limit for r in rows)
    cook = sorted((r for r in rows if r.segment_id <= 5), key=lambda r: r.segment_id)
    assert any(b.pos_start < a.pos_end for a, b in itertools.pairwise(cook))  # moved back


def test_sizes_and_store_keys() -> None:
    assert parse_size("50G") == 50 * 2**30 and parse_size("1.5k") == 1536
    assert parse_size("512MiB") == parse_size("512 MB") == 512 * 2**20 and parse_size("7") == 7
    with pytest.raises(ValueError, match="50G"):
        parse_size("lots")
    assert file_key("12-ab34.0123456789abcdef.safetensors") == "12-ab34"
