"""`vagent bench scale` at a tiny size: the synthetic library's catalog rows and index vectors
match one to one, and the report's figures are consistent."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import faiss
import numpy as np
import pytest

from tests.conftest import run_vagent
from vagent import Library, plugins
from vagent.components import INDEX, VectorIndex


def _scale(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vagent", "bench", "scale", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "VAGENT_HOME": str(tmp_path / "home")},
    )


@pytest.mark.slow
def test_bench_scale_tiny(tmp_path: Path) -> None:
    out = tmp_path / "libs"
    proc = _scale(
        tmp_path,
        *("--hours", "2", "--dim", "64", "--factory", "IVF16,PQ16x4", "--queries", "20"),
        *("--dir", str(out), "--json"),
    )
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["hours"] == 2 and r["frame_vectors"] == 7200 and r["segment_vectors"] == 720
    frames, segments = r["frames"], r["segments"]
    assert frames["vectors"] == 7200 and segments["vectors"] == 720
    for k in (frames, segments):
        assert 0 < k["search_p50_ms"] <= k["search_p95_ms"]
        assert 0 <= k["recall@10_pq"] <= 1 and k["recall@10"] >= 0.7  # rescored shortlist
        assert k["recall@10"] >= k["recall@10_pq"]
    assert r["peak_rss_mib"] > 0 and r["bytes_per_hour"] > frames["index_bytes_per_hour"]
    lib = out / "2h"
    # the catalog rows are the index's ids: frame row i holds vector i
    con = sqlite3.connect(lib / "catalog.db")
    row = con.execute("SELECT count(*), min(id), max(id) FROM frames").fetchone()
    assert row == (7200, 1, 7200)
    assert con.execute("SELECT count(*) FROM segments").fetchone()[0] == 720
    assert con.execute("SELECT count(*) FROM videos").fetchone()[0] == 2
    # every frame's segment covers its time, in its own video
    bad = con.execute(
        "SELECT count(*) FROM frames f JOIN segments s ON s.id = f.segment_id "
        "WHERE f.time < s.start OR f.time >= s.end OR s.video_id != f.video_id"
    ).fetchone()[0]
    assert bad == 0
    index = faiss.read_index(str(lib / "frames.faiss"), faiss.IO_FLAG_MMAP)
    assert index.ntotal == 7200
    ivf = faiss.extract_index_ivf(index)
    ids = np.concatenate(
        [
            faiss.rev_swig_ptr(ivf.invlists.get_ids(i), ivf.invlists.list_size(i)).copy()
            for i in range(ivf.nlist)
            if ivf.invlists.list_size(i)
        ]
    )
    np.testing.assert_array_equal(np.sort(ids), np.arange(1, 7201))


@pytest.mark.slow
def test_bench_scale_reuse_searches_a_built_library_again_without_touching_it(
    tmp_path: Path,
) -> None:
    out = tmp_path / "libs"
    common = ("--hours", "1", "--dim", "32", "--queries", "20", "--dir", str(out), "--json")
    built = _scale(tmp_path, *common, "--factory", "IVF16_HNSW8,PQ8x4", "--rescore", "40")
    assert built.returncode == 0, built.stderr
    files = {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in (out / "1h").iterdir()}
    again = _scale(tmp_path, *common, "--reuse", "--rescore", "40", "--nprobe", "32")
    assert again.returncode == 0, again.stderr
    b, r = json.loads(built.stdout), json.loads(again.stdout)
    assert {
        p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in (out / "1h").iterdir()
    } == files
    assert r["reused"] == str(out / "1h") and "peak_rss_mib" not in r["targets"]
    for kind in ("frames", "segments"):
        assert r[kind]["vectors"] == b[kind]["vectors"]
        # the same index, the same settings: the same recall (truth from float16 rows)
        assert abs(r[kind]["recall@10"] - b[kind]["recall@10"]) <= 0.05
        assert r[kind]["quantizer_ef"] == 128 and r[kind]["rescored_from"] == 40
    missing = _scale(tmp_path, "--hours", "2", "--dir", str(out), "--reuse")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1 and "2h" in missing.stderr


def test_rescoring_rows_read_in_runs_are_the_rows_asked_for(tmp_path: Path) -> None:
    from vagent.bench.scale import Rows

    rows = np.random.default_rng(0).standard_normal((50, 6)).astype(np.float16)
    np.save(tmp_path / "r.npy", rows)
    reader = Rows(tmp_path / "r.npy")
    try:
        # runs of consecutive rows (read at once), lone rows, the first and the last
        for want in ([0, 1, 2, 7, 9, 10, 11, 49], [5], [0], [49], list(range(50))):
            ids = np.array(want, dtype=np.int64)
            np.testing.assert_array_equal(reader[ids], rows[ids])
    finally:
        reader.close()


def test_bench_scale_sets_an_hnsw_quantizers_width_by_nprobe() -> None:
    from vagent.bench.scale import Config, _set_quantizer_ef, quantizer_ef

    assert quantizer_ef(Config(hours=1), 8) == 64 and quantizer_ef(Config(hours=1), 64) == 256
    assert quantizer_ef(Config(hours=1, quantizer_ef=300), 8) == 300
    hnsw = faiss.index_factory(16, "IVF16_HNSW8,Flat", faiss.METRIC_INNER_PRODUCT)
    assert _set_quantizer_ef(hnsw, 96)
    assert faiss.downcast_index(faiss.extract_index_ivf(hnsw).quantizer).hnsw.efSearch == 96
    assert not _set_quantizer_ef(faiss.index_factory(16, "IVF16,Flat"), 96)


def test_bench_scale_bad_hours(tmp_path: Path) -> None:
    proc = _scale(tmp_path, "--hours", "0", "--dir", str(tmp_path / "libs"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--hours" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "libs").exists()


@pytest.mark.slow
def test_bench_scale_per_kind_factory_sq8_rescoring_and_sweep(tmp_path: Path) -> None:
    out = tmp_path / "libs"
    proc = _scale(
        tmp_path,
        *("--hours", "1", "--dim", "32", "--queries", "10", "--dir", str(out), "--json"),
        *("--factory", "IVF32,PQ8x4", "--segment-factory", "IVF8,PQ4x4"),
        *("--rescore", "50", "--segment-rescore", "30", "--rescore-codec", "sq8"),
    )
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    frames, segments = r["frames"], r["segments"]
    assert frames["factory"] == "IVF32,PQ8x4" and segments["factory"] == "IVF8,PQ4x4"
    assert frames["quantizer_ef"] is None  # a flat coarse quantizer has no efSearch
    assert faiss.extract_index_ivf(faiss.read_index(str(out / "1h" / "segments.faiss"))).nlist == 8
    # frames rescore from 8-bit codes (a byte a dimension), segments from float16 (two)
    assert frames["rescore_codec"] == "sq8" and segments["rescore_codec"] == "f16"
    header = 128  # numpy's .npy header for these shapes
    assert frames["rescore_bytes"] == 3600 * 32 + header
    assert segments["rescore_bytes"] == 360 * 32 * 2 + header
    assert frames["recall@10"] >= 0.7 and frames["rescored_from"] == 50
    assert segments["rescored_from"] == 30  # the segments' own shortlist
    assert set(r["targets"]) == {"peak_rss_mib", "search_p50_ms", "recall@10", "recall@10_segments"}
    assert r["targets"]["recall@10_segments"]["value"] == segments["recall@10"]
    # the same index searched at twice the lists probed and twice the shortlist
    assert set(frames["sweep"]) == {
        "nprobe 64, shortlist 50",
        "nprobe 32, shortlist 100",
        "nprobe 64, shortlist 100",
    }
    for v in frames["sweep"].values():
        assert 0 < v["search_p50_ms"] <= v["search_p95_ms"] and 0 <= v["recall@10"] <= 1


# ---- `vagent index` with the large-index factories (the FAISS plugin on small data) ---------


def _unit_rows(n: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.arange(1, n + 1, dtype=np.int64) * 3, x


def _faiss(spec: str, dim: int) -> VectorIndex:
    index: VectorIndex = plugins.registry().create(INDEX, f"faiss/{spec}", dim=dim)
    return index


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param("OPQ4,IVF8,PQ4x4", marks=pytest.mark.slow),  # OPQ trains for a minute here
        "PCA8,IVF8,Flat",
        "IVF8,PQ4x4,RFlat",
    ],
)
def test_wrapped_ivf_factories_keep_their_ids(spec: str, tmp_path: Path) -> None:
    """An IVF inside a pre-transform (OPQ, PCA) or under a refine index trains, reconstructs,
    removes, saves and loads (before: reconstructing raised 'direct map not initialized')."""
    ids, x = _unit_rows(12_000, 16)
    index = _faiss(spec, 16)
    index.add(ids[:6000], x[:6000])
    index.add(ids[6000:], x[6000:])
    assert index.trained and index.ntotal == 12_000
    got = index.reconstruct(ids[:50])
    assert got.shape == (50, 16) and np.mean(np.sum(got * x[:50], axis=1)) > 0.4  # PCA8 keeps half
    assert index.remove(ids[:10]) == 10 and index.ntotal == 11_990
    _, top = index.search(x[20:30], 5)
    assert not np.isin(top, ids[:10]).any()
    index.save(str(tmp_path / "v.faiss"))
    again = _faiss(spec, 16)
    again.load(str(tmp_path / "v.faiss"))
    assert again.ntotal == 11_990
    np.testing.assert_array_equal(np.sort(again.ids()), np.sort(ids[10:]))  # type: ignore[attr-defined]
    again.add(ids[:10], x[:10])  # a loaded (memory-mapped) index takes adds
    assert again.ntotal == 12_000


def test_refine_factory_rescores_its_shortlist() -> None:
    """`IVF..,PQ..,RFlat` rescores a shortlist of K_FACTOR * k with the exact vectors it keeps:
    recall@10 against exact search well above PQ alone (before: a shortlist of k, the same
    recall as PQ alone)."""
    ids, x = _unit_rows(12_000, 16)
    q = x[:100] + 0.05 * np.random.default_rng(1).standard_normal((100, 16)).astype(np.float32)
    exact = ids[np.argsort(-(q @ x.T), axis=1)[:, :10]]
    recall = {}
    for spec in ("IVF8,PQ4x4", "IVF8,PQ4x4,RFlat"):
        index = _faiss(spec, 16)
        index.add(ids, x)
        # PQ alone: the codes' own ranking (a bare IVF-PQ index rescores with exact rows now)
        got = index.search(q, 10)[1] if "RFlat" in spec else index._index.search(q, 10)[1]  # type: ignore[attr-defined]
        recall[spec] = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, exact)])
    assert recall["IVF8,PQ4x4,RFlat"] >= 1.5 * recall["IVF8,PQ4x4"] > 0


def test_loaded_ivf_index_is_memory_mapped(tmp_path: Path) -> None:
    """A loaded IVF index searches its inverted lists from the file (on-disk lists, not read
    into memory), gives the same answers as in memory, and is read in on its first change."""
    ids, x = _unit_rows(3000, 16)
    index = _faiss("IVF8,PQ4x4", 16)
    index.add(ids, x)
    path = tmp_path / "v.faiss"
    index.save(str(path))
    loaded = _faiss("IVF8,PQ4x4", 16)
    loaded.load(str(path))
    assert loaded.mapped  # type: ignore[attr-defined]
    ivf = faiss.extract_index_ivf(loaded._index)  # type: ignore[attr-defined]
    assert isinstance(faiss.downcast_InvertedLists(ivf.invlists), faiss.OnDiskInvertedLists)
    i1 = index.search(x[:20], 5)[1]
    i2 = loaded.search(x[:20], 5)[1]
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(loaded.reconstruct(ids[:5]), index.reconstruct(ids[:5]))
    assert loaded.remove(ids[:3]) == 3 and not loaded.mapped  # type: ignore[attr-defined]
    assert loaded.ntotal == 2997


def test_hnsw_coarse_quantizer_searches_wide_when_adding_and_after_loading(
    tmp_path: Path,
) -> None:
    """An IVF's HNSW coarse quantizer looks at 4 candidates per list probed (at least 64) when
    vectors are added and when the loaded index is searched: FAISS's default of 16 put vectors
    in lists that queries near them did not probe (10,000 h: recall@10 0.92)."""

    def ef(index: VectorIndex) -> int:
        ivf = faiss.extract_index_ivf(index._index)  # type: ignore[attr-defined]
        return int(faiss.downcast_index(ivf.quantizer).hnsw.efSearch)

    ids, x = _unit_rows(2000, 16)
    index = _faiss("IVF32_HNSW8,Flat", 16)
    index.add(ids, x)
    assert index.trained and ef(index) >= 64
    path = tmp_path / "v.faiss"
    index.save(str(path))
    loaded = _faiss("IVF32_HNSW8,Flat", 16)
    loaded.load(str(path))
    assert ef(loaded) >= 64
    np.testing.assert_array_equal(loaded.search(x[:20], 5)[1], index.search(x[:20], 5)[1])


def test_search_settings_after_the_factory_string_are_kept_and_used(tmp_path: Path) -> None:
    """``IVF16,PQ16x4,nprobe=12,shortlist=1000``: the index probes 12 lists (the default 16)
    and rescores 1,000 candidates (every vector here is within four shortlists, so all are
    scored exactly: Flat's own answers), where the default 200 gives PQ's shortlist; the
    settings come back with the file."""
    dim, n = 32, 4000
    x = _clustered(n, dim, 64)
    ids = np.arange(1, n + 1, dtype=np.int64)
    spec = "IVF16,PQ16x4,nprobe=12,shortlist=1000"
    tuned, plain, flat = _faiss(spec, dim), _faiss("IVF16,PQ16x4", dim), _faiss("Flat", dim)
    for index in (tuned, plain, flat):
        index.add(ids, x)
    queries = _clustered(50, dim, 64, seed=1)
    truth = flat.search(queries, 10)[1]
    assert faiss.extract_index_ivf(tuned._index).nprobe == 12  # type: ignore[attr-defined]
    assert _recall(tuned.search(queries, 10)[1], truth) >= 0.99
    assert _recall(plain.search(queries, 10)[1], truth) < 0.99
    path = tmp_path / "v.faiss"
    tuned.save(str(path))
    again = _faiss(spec, dim)
    again.load(str(path))
    assert faiss.extract_index_ivf(again._index).nprobe == 12  # type: ignore[attr-defined]
    np.testing.assert_array_equal(again.search(queries, 10)[1], tuned.search(queries, 10)[1])
    for bad in ("IVF16,Flat,nprobe=0", "IVF16,Flat,shortlist=x", "IVF16,Flat,efSearch=9"):
        with pytest.raises(ValueError, match="the settings are nprobe=N and shortlist=N"):
            _faiss(bad, dim)


def test_pq_training_skips_polysemous_reordering() -> None:
    """IVF-PQ trains without FAISS's polysemous code reordering (index_factory turns it on;
    it is never used in search and took ~99% of the training time)."""
    ids, x = _unit_rows(12_000, 16)
    index = _faiss("IVF8,PQ4", 16)
    index.add(ids, x)
    inner = faiss.downcast_index(faiss.extract_index_ivf(index._index))  # type: ignore[attr-defined]
    assert index.trained and inner.do_polysemous_training is False


@pytest.mark.usefixtures("colour_plugin")
def test_vagent_index_with_a_wrapped_ivf_factory(videos: Path) -> None:
    """`vagent index --index-factory PCA4,IVF4,Flat` end to end: trained on the library's own
    frames, searched (frames reconstructed for ranking), a video removed."""
    code, _, err = run_vagent(
        "index", str(videos), "--library", "big", "--encoder", "colour", "--text", "none",
        "--fps", "10", "--index-factory", "PCA4,IVF4,Flat",
    )  # fmt: skip
    assert code == 0, err
    lib = Library.open("big")
    assert lib.info()["index"] == {"backend": "faiss", "spec": "PCA4,IVF4,Flat", "trained": True}
    top = Library.open("big").search("green", k=1)[0]
    assert (Path(top.video).name, top.start) == ("rgb.mp4", 10.0)
    assert Library.open("big").remove(["yw.mp4"]) and len(Library.open("big").videos()) == 1


# ---- IVF-PQ with exact rows in its file (rescoring), trained on a spread sample ------------


def _clustered(n: int, dim: int, clusters: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    x = centres[rng.integers(clusters, size=n)] + 0.3 * rng.standard_normal((n, dim))
    x = x.astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def _recall(got: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(g) & set(t)) / len(t) for g, t in zip(got, truth)]))


@pytest.mark.slow
def test_ivf_pq_rescores_with_exact_rows_kept_in_its_file(tmp_path: Path) -> None:
    """An IVF-PQ index keeps float16 exact rows after its FAISS bytes: the shortlist is
    rescored with them (recall against Flat well above PQ's own ranking), they are mapped on
    load, follow removals (no removed id comes back, the survivors' rows are exact) and come
    back on reopening; a cut file is refused."""
    dim, n = 32, 4000
    x = _clustered(n, dim, 64)
    ids = np.arange(1, n + 1, dtype=np.int64) * 7
    pq, flat = _faiss("IVF16,PQ16x4", dim), _faiss("Flat", dim)
    for s in range(0, n, 1000):
        pq.add(ids[s : s + 1000], x[s : s + 1000])
        flat.add(ids[s : s + 1000], x[s : s + 1000])
    queries = _clustered(100, dim, 64, seed=1)
    truth = flat.search(queries, 10)[1]
    codes_only = faiss.downcast_index(pq._index).search(queries, 10)[1]  # type: ignore[attr-defined]
    got = pq.search(queries, 10)[1]
    assert _recall(got, truth) >= 0.95 > _recall(codes_only, truth) + 0.1
    path = tmp_path / "frames.faiss"
    pq.save(str(path))
    assert path.stat().st_size > n * dim * 2  # the float16 rows travel in the file
    again = _faiss("IVF16,PQ16x4", dim)
    again.load(str(path))
    assert again.mapped  # type: ignore[attr-defined]
    np.testing.assert_array_equal(again.search(queries, 10)[1], got)
    gone = ids[::3]
    assert again.remove(gone) == len(gone) and flat.remove(gone) == len(gone)
    after = again.search(queries, 10)[1]
    assert not np.isin(after, gone).any()
    assert _recall(after, flat.search(queries, 10)[1]) >= 0.95
    kept = np.setdiff1d(ids, gone)
    np.testing.assert_allclose(again.reconstruct(kept[:50]), x[(kept[:50] // 7) - 1], atol=1e-3)
    again.add(gone[:3], x[::3][:3])  # removed ids come back with their vectors
    path2 = tmp_path / "frames-2.faiss"
    again.save(str(path2))
    third = _faiss("IVF16,PQ16x4", dim)
    third.load(str(path2))
    assert third.ntotal == len(kept) + 3
    np.testing.assert_array_equal(third.search(queries, 10)[1], again.search(queries, 10)[1])
    np.testing.assert_allclose(third.reconstruct(gone[:3]), x[::3][:3], atol=1e-3)
    cut = tmp_path / "cut.faiss"
    cut.write_bytes(path2.read_bytes()[: path2.stat().st_size - 1000] + path2.read_bytes()[-40:])
    with pytest.raises(ValueError, match="exact vectors"):
        _faiss("IVF16,PQ16x4", dim).load(str(cut))


def test_ivf_pq_trains_again_on_a_sample_spread_over_the_library(tmp_path: Path) -> None:
    """The first vectors to arrive come from one corner of the space; saved once the library
    has grown eightfold, the index is trained again on a sample drawn from all of it, so its
    lists cover what came later (trained once on the first vectors, every list sat in that
    corner)."""
    from vagent_faiss.index import RETRAIN_GROWTH

    dim = 16
    index = _faiss("IVF8,PQ4x4", dim)  # trains at 39 * 16 vectors
    rng = np.random.default_rng(0)
    corner, elsewhere = np.zeros(dim, np.float32), np.zeros(dim, np.float32)
    corner[0], elsewhere[1] = 1.0, 1.0
    first = corner + 0.1 * rng.standard_normal((1000, dim)).astype(np.float32)
    index.add(np.arange(1, 1001, dtype=np.int64), first)
    assert index.trained
    later = elsewhere + 0.1 * rng.standard_normal((RETRAIN_GROWTH * 1000, dim))
    index.add(np.arange(1001, 1001 + len(later), dtype=np.int64), later.astype(np.float32))
    index.save(str(tmp_path / "frames.faiss"))
    ivf = faiss.extract_index_ivf(index._index)  # type: ignore[attr-defined]
    centroids = ivf.quantizer.reconstruct_n(0, ivf.nlist)
    near_later = int(np.sum(centroids @ elsewhere > centroids @ corner))
    assert near_later >= ivf.nlist // 2
    np.testing.assert_allclose(
        index.reconstruct(np.array([1, 1001])), [first[0], later[0]], atol=1e-3
    )
    assert index.ntotal == 1000 + len(later)


@pytest.mark.slow
@pytest.mark.usefixtures("colour_plugin")
def test_vagent_index_with_ivf_pq_keeps_exact_rows(videos: Path) -> None:
    """`vagent index --index-factory IVF2,PQ4x4` through the library: the frames' index file
    carries its exact rows, and search, a removal and a reopen rank as a Flat library does."""
    from vagent_faiss.exact import ExactRows

    for name, factory in (("pq", "IVF2,PQ4x4"), ("flat", "Flat")):
        code, _, err = run_vagent(
            "index", str(videos), "--library", name, "--encoder", "colour", "--text", "none",
            "--fps", "20", "--index-factory", factory,
        )  # fmt: skip
        assert code == 0, err
    lib = Library.open("pq")
    files = sorted(lib.root.rglob("frames-*.faiss"), key=lambda p: p.stat().st_mtime)
    assert files and ExactRows.open(str(files[-1]), 8) is not None

    def ranked(name: str, query: str) -> list[tuple[str, float]]:
        hits = Library.open(name).search(query, k=6)
        return [(Path(h.video).name, h.start) for h in hits]

    for query in ("green", "white", "red"):
        assert ranked("pq", query) == ranked("flat", query)
    for name in ("pq", "flat"):
        assert Library.open(name).remove(["yw.mp4"])
    for query in ("green", "white", "blue"):
        assert ranked("pq", query) == ranked("flat", query)
    assert all(Path(v.path).name == "rgb.mp4" for v in Library.open("pq").videos())
