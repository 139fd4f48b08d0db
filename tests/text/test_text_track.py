"""The text track: on-screen text (real rapidocr), subtitles, MiniLM embeddings, lexical
matching, and hybrid fusion with the visual channel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import COLOUR, TINY_CLIP
from vagent import Library
from vagent.errors import VagentError
from vagent.search.fusion import rrf
from vagent.search.lexical import Bm25
from vagent.synth import make_video
from vagent.text.track import OcrTrack
from vagent.types import TextHit

SECRET = "The secret code is PURPLE ELEPHANT 4721"
TREASURE = "The treasure is buried under the old oak tree"
SRT = """1
00:00:01,000 --> 00:00:03,500
Welcome to the <i>quarterly</i> budget meeting

2
00:00:25,000 --> 00:00:27,000
{TREASURE}

3
00:00:40,000 --> 00:00:38,000
a cue whose end comes before its start
"""


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("talk")
    video = make_video(
        d / "talk.mp4",
        ["blue", "green", "red"],
        10.0,
        size=(480, 270),
        overlays=[(12.0, 15.0, SECRET)],
    )
    (d / "talk.en.srt").write_text(SRT.replace("{TREASURE}", TREASURE))
    make_video(d / "other.mp4", ["yellow", "white"], 10.0, size=(160, 120))
    return video


def _lib(talk: Path, **kw: object) -> Library:
    lib = Library.open("talks")
    kw.setdefault("encoder", TINY_CLIP)
    lib.index([str(talk.parent)], progress=False, **kw)
    return lib


@pytest.mark.usefixtures("warnings_shown")  # the dropped cue's line, as the CLI prints it
def test_ocr_and_subtitle_spans_are_indexed(talk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lib = _lib(talk)
    info = lib.info()
    assert info["text"]["sources"] == ["ocr", "speech", "subtitles"]  # speech: none (no audio)
    assert info["text"]["spans"] == {"ocr": 1, "subtitle": 2}
    assert "talk.en.srt:10: cue 3: end" in capsys.readouterr().err  # reported with its line


@pytest.mark.parametrize(
    ("query", "mode", "start", "channel"),
    [
        ("PURPLE ELEPHANT", "text", 10.0, "lexical"),  # shares words: lexical finds it
        ("what is the password", "text", 10.0, "text"),  # reworded: only embeddings do
        ("where is the hidden chest located", "hybrid", 20.0, "text"),
        ("budget meeting", "hybrid", 0.0, "lexical"),
    ],
)
def test_text_and_hybrid_search_find_the_moment(
    talk: Path, query: str, mode: str, start: float, channel: str
) -> None:
    lib = _lib(talk)
    top = lib.search(query, k=3, mode=mode)[0]
    assert (Path(top.video).name, top.start) == ("talk.mp4", start)
    assert channel in top.channels
    assert top.start <= top.frame_time <= top.end
    assert any(t["start"] >= start for t in top.texts)
    keys = TextHit.__required_keys__ | TextHit.__optional_keys__
    assert all(TextHit.__required_keys__ <= t.keys() <= keys for t in top.texts)


def test_hybrid_fuses_visual_channel_when_it_is_semantic(talk: Path, colour_plugin: None) -> None:
    lib = _lib(talk, encoder=COLOUR)
    top = lib.search("red", k=1)[0]  # no text says red: the visual channel finds it
    assert top.channels == ["visual"] and top.start == 20.0
    both = lib.search("the red treasure", k=1)[0]  # red scene holds the treasure subtitle
    assert both.start == 20.0 and {"visual", "text", "lexical"} <= set(both.channels)
    assert lib.search("secret code", k=1, weights={"text": 0, "lexical": 0})[0].channels == [
        "visual"
    ]


def test_video_filter_and_visual_mode(talk: Path) -> None:
    lib = _lib(talk)
    assert lib.search("PURPLE ELEPHANT", k=5, video="other.mp4", mode="text") == []
    assert all(h.channels == ["visual"] for h in lib.search("x", mode="visual"))


def test_frames_only_library_refuses_text_mode(talk: Path) -> None:
    lib = _lib(talk, text="none")
    assert lib.info()["text"]["sources"] == []
    with pytest.raises(VagentError, match=r"no text track.*--mode visual"):
        lib.search("code", mode="text")
    with pytest.raises(VagentError, match="unknown text source"):
        Library.open("x").index([str(talk)], encoder=TINY_CLIP, text="ears", progress=False)


def test_ocr_track_merges_repeats_and_skips_unchanged_frames() -> None:
    class Counting:
        id = "counting"
        calls = 0

        def read(self, images: np.ndarray) -> list[list[str]]:
            self.calls += len(images)
            return [["HELLO WORLD", "ok"] if img.mean() > 100 else [] for img in images]

        def load(self) -> None:
            pass

    ocr = Counting()
    track = OcrTrack(ocr, period=1.0)  # type: ignore[arg-type]
    dark = np.zeros((4, 40, 40, 3), np.uint8)
    bright = np.full((4, 40, 40, 3), 200, np.uint8)
    track.add(np.arange(4.0), dark)
    track.add(np.arange(4.0, 8.0), bright)
    track.add(np.arange(8.0, 10.0), dark[:2])
    spans = track.finish()
    assert [(s.start, s.end, s.text) for s in spans] == [(4.0, 8.0, "HELLO WORLD")]  # "ok": <3
    assert ocr.calls == 3 and track.frames_reused == 7


def test_bm25_only_returns_matches() -> None:
    bm = Bm25(["the cat sat", "a dog ran", "cat and dog 4721"])
    assert [i for i, _ in bm.search("cat", 5)] == [0, 2]
    assert bm.search("4721", 5)[0][0] == 2
    assert bm.search("the of", 5) == []  # stopwords only


def test_rrf_counts_only_what_each_channel_matched() -> None:
    fused = rrf({"visual": ["a", "b", "c"], "lexical": ["c"]}, {"visual": 1, "lexical": 1})
    assert [item for item, _, _ in fused] == ["c", "a", "b"]
    assert dict((i, ch) for i, _, ch in fused)["c"] == ["visual", "lexical"]
    assert rrf({"visual": ["a"]}, {"visual": 0}) == []


def test_extreme_aspect_ratio_is_indexed_within_bounds(tmp_path: Path) -> None:
    strip = make_video(
        tmp_path / "ticker.mp4",
        ["white"],
        4.0,
        size=(1600, 40),
        overlays=[(0.0, 4.0, "BREAKING NEWS 2026")],
    )
    lib = Library.open("ticker")
    report = lib.index([str(strip)], encoder=TINY_CLIP, progress=False)
    assert report.indexed and not report.failed
    assert lib.info()["frames"] == 4


@pytest.mark.slow
def test_changed_sidecar_redoes_subtitles_and_keeps_ocr_spans(tmp_path: Path) -> None:
    video = make_video(
        tmp_path / "slide.mp4", ["white"], 6.0, size=(480, 270), overlays=[(1.0, 4.0, SECRET)]
    )
    (tmp_path / "slide.srt").write_text(SRT.replace("{TREASURE}", TREASURE))
    lib = Library.open("slides")
    lib.index([str(video)], encoder=TINY_CLIP, progress=False)
    before = lib.info()["text"]["spans"]
    assert before["ocr"] >= 1 and before["subtitle"] == 1  # cue 2 starts after the 6-s end
    (tmp_path / "slide.srt").write_text("1\n00:00:02,000 --> 00:00:03,000\nnew words\n")
    report = lib.index([str(video)], progress=False)
    assert report.text_redone == [str(video)]
    assert lib.info()["text"]["spans"] == {"ocr": before["ocr"], "subtitle": 1}
    top = lib.search("PURPLE ELEPHANT", k=1, mode="text")[0]  # the OCR span still answers
    assert any(t["source"] == "ocr" for t in top.texts)
