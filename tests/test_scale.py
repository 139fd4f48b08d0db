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
        *("--hours", "2", "--dim", "64", "--factory", "IVF16,PQ8x4", "--queries", "20"),
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


def test_bench_scale_bad_hours(tmp_path: Path) -> None:
    proc = _scale(tmp_path, "--hours", "0", "--dir", str(tmp_path / "libs"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--hours" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "libs").exists()
