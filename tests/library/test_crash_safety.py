"""kill -9 in the middle of indexing, and readers searching while a writer indexes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from tests.conftest import TINY_CLIP
from vagent import Library, plugins
from vagent.catalog import FrameRow, SegmentRow, TextSpanRow, VideoRow
from vagent.components import INDEX, TEXT_ENCODER, VISUAL_ENCODER
from vagent.synth import make_video
from vagent.vector_deltas import names
from vagent.vectors import VectorSet

pytestmark = pytest.mark.slow
N_VIDEOS = 6


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("many")
    colours = ["red", "green", "blue", "yellow", "white", "purple"]
    for i in range(N_VIDEOS):
        title = [(2.0, 5.0, f"Chapter {i} begins here")]
        make_video(
            d / f"v{i}.mp4", [colours[i], colours[(i + 1) % 6]], 10.0, seed=i, overlays=title
        )
        (d / f"v{i}.srt").write_text(f"1\n00:00:12,000 --> 00:00:14,000\nSpoken line {i}\n")
    return d


def _writer(many: Path, home: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "vagent",
        "index",
        str(many),
        "--library",
        "crash",
        "--encoder",
        TINY_CLIP,
        "--fps",
        "4",
    ]
    env = {**os.environ, "VAGENT_HOME": str(home)}
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _indexed(lib: Library) -> int:
    if not lib.exists():
        return 0
    return len(lib.videos())


def _assert_consistent(lib: Library) -> None:
    """Every catalogued video is whole, and the committed vector files hold exactly its rows."""
    row = lib.settings()
    with lib.catalog.session() as s:
        for v in s.scalars(select(VideoRow)):
            n = s.scalar(select(func.count(FrameRow.id)).where(FrameRow.video_id == v.id))
            assert n == v.sampled_frames == 80, v.path
        ids = {
            kind: np.array(sorted(s.scalars(select(table.id))), np.int64)
            for kind, table in (
                ("frames", FrameRow),
                ("segments", SegmentRow),
                ("texts", TextSpanRow),
            )
        }
    with lib.catalog.session() as s:
        cues = s.scalar(select(func.count()).where(TextSpanRow.source == "subtitle"))
    assert cues == len(lib.videos())  # each landed video brought its subtitle cue
    reg = plugins.registry()
    vs = VectorSet(
        lib.root,
        {
            "frames": lambda: reg.create(INDEX, "faiss/Flat", dim=row.dim),
            "segments": lambda: reg.create(INDEX, "faiss/Flat", dim=row.dim),
            "texts": lambda: reg.create(INDEX, "faiss/Flat", dim=row.text_dim),
        },
    )
    vs.load(row.generation, row.vector_files)  # checked against the committed checksums
    for kind, want in ids.items():
        got = np.sort(vs.indexes[kind].ids())  # type: ignore[attr-defined]
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("delay", [0.0, 0.15, 0.4])
def test_kill_9_leaves_whole_videos_and_resumes(many: Path, tmp_path: Path, delay: float) -> None:
    home = tmp_path / "home"
    lib = Library.open(home / "crash")
    proc = _writer(many, home)
    deadline = time.time() + 120
    while _indexed(lib) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = _indexed(lib)
    assert 2 <= done < N_VIDEOS, "the writer was not killed mid-run; slow the fixture down"
    _assert_consistent(lib)
    assert lib.search("which chapter begins", k=3)  # the text track answers after a kill too

    rerun = Library.open(home / "crash").index([str(many)], progress=False)
    assert len(rerun.indexed) == N_VIDEOS - done and len(rerun.skipped) == done
    _assert_consistent(lib)
    leftovers = sorted(
        p.name for p in lib.root.iterdir() if p.suffix in (".faiss", ".delta", ".tmp")
    )
    row = lib.settings()
    record = json.loads(row.vector_files or "{}")
    # the files of the current and the previous generation (a base and the deltas appended
    # to it, vagent.vector_deltas), nothing else
    assert leftovers == sorted(
        {n for entry in (record, record["previous"]) for f in entry["files"].values()
         for n in names(f)}
    )  # fmt: skip
    assert any(n.endswith(".delta") for n in leftovers)  # each video after the first: deltas


def test_readers_search_while_a_writer_indexes(many: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    lib = Library.open(home / "crash")
    # warm up first: loading the encoders takes seconds, longer than the writer needs
    plugins.registry().create(VISUAL_ENCODER, TINY_CLIP).load()
    plugins.registry().create(TEXT_ENCODER, "st/all-MiniLM-L6-v2").load()
    proc = _writer(many, home)
    seen: set[int] = set()
    try:
        while proc.poll() is None:
            if lib.exists() and lib.settings().generation > 0:
                hits = lib.search("something", k=50)
                videos = {v.path for v in lib.videos()}
                assert {h.video for h in hits} <= videos
                seen.add(len(videos))
            time.sleep(0.01)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert len(seen) >= 2  # we read several generations while they were being written
    assert len(Library.open(home / "crash").videos()) == N_VIDEOS
