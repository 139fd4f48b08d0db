"""Sidecar subtitles added, changed or removed beside an indexed video are picked up by the next
index: only that video's subtitle spans are redone; its frame and segment vectors stay."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, update

from tests.conftest import COLOUR, TINY_CLIP
from vagent import Library
from vagent.catalog import FrameRow, SegmentRow, TextSpanRow, VideoRow
from vagent.synth import make_video

TREASURE = "The treasure is buried under the old oak tree"
GARDEN = "Tomatoes need sunlight and water every morning"


def srt(*cues: tuple[int, int, str]) -> str:
    return "".join(
        f"{i}\n00:00:{a:02d},000 --> 00:00:{b:02d},000\n{text}\n\n"
        for i, (a, b, text) in enumerate(cues, 1)
    )


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    d = tmp_path / "clips"
    d.mkdir()
    make_video(d / "talk.mp4", ["red", "green", "blue"], 4.0)
    make_video(d / "other.mp4", ["yellow", "white"], 4.0)
    return d


def visual_ids(lib: Library, video: Path) -> tuple[list[int], list[int]]:
    with lib.catalog.session() as s:
        vid = s.scalars(select(VideoRow.id).where(VideoRow.path == str(video))).one()
        segs = list(s.scalars(select(SegmentRow.id).where(SegmentRow.video_id == vid)))
        frames = list(s.scalars(select(FrameRow.id).where(FrameRow.video_id == vid)))
    return segs, frames


def spans(lib: Library) -> list[tuple[str, str, float]]:
    """(video file name, text, start) of every text span, by video and start."""
    with lib.catalog.session() as s:
        q = select(VideoRow.path, TextSpanRow.text, TextSpanRow.start).join(
            VideoRow, VideoRow.id == TextSpanRow.video_id
        )
        return sorted((Path(p).name, t, a) for p, t, a in s.execute(q))


@pytest.mark.usefixtures("colour_plugin")
def test_sidecar_added_changed_removed_redoes_only_that_videos_text(clips: Path) -> None:
    talk = clips / "talk.mp4"
    (clips / "other.srt").write_text(srt((1, 3, GARDEN)))
    lib = Library.open("lib")
    first = lib.index([str(clips)], encoder=COLOUR, text="subtitles", progress=False)
    assert len(first.indexed) == 2
    visual = visual_ids(lib, talk)
    vector_count = lib._reader_vectors(lib.settings()).frames.ntotal

    (clips / "talk.en.srt").write_text(srt((5, 7, TREASURE)))  # added
    added = lib.index([str(clips)], progress=False)
    assert added.text_redone == [str(talk)]
    assert added.skipped == [str(clips / "other.mp4")] and not added.indexed
    assert visual_ids(lib, talk) == visual  # frames and segments kept, same ids
    assert lib._reader_vectors(lib.settings()).frames.ntotal == vector_count
    assert spans(lib) == [("other.mp4", GARDEN, 1.0), ("talk.mp4", TREASURE, 5.0)]
    top = lib.search("where is the treasure buried", k=1, mode="text")[0]
    assert Path(top.video).name == "talk.mp4"
    assert [t["text"] for t in top.texts] == [TREASURE]

    (clips / "talk.en.srt").write_text(srt((9, 11, "A new line about " + GARDEN)))  # changed
    os.utime(clips / "talk.en.srt", ns=(1, 1))  # an edit that also moves the mtime back
    changed = lib.index([str(clips)], progress=False)
    assert changed.text_redone == [str(talk)]
    assert [t for t in spans(lib) if t[0] == "talk.mp4"] == [
        ("talk.mp4", "A new line about " + GARDEN, 9.0)
    ]
    assert not lib.search("treasure oak", k=3, mode="text")  # the old words are gone

    (clips / "talk.en.srt").unlink()  # removed
    removed = lib.index([str(clips)], progress=False)
    assert removed.text_redone == [str(talk)]
    assert spans(lib) == [("other.mp4", GARDEN, 1.0)]
    assert visual_ids(lib, talk) == visual

    again = lib.index([str(clips)], progress=False)
    assert not again.text_redone and len(again.skipped) == 2


@pytest.mark.usefixtures("colour_plugin")
def test_moved_video_reads_the_sidecars_at_its_new_place(clips: Path, tmp_path: Path) -> None:
    lib = Library.open("lib")
    lib.index([str(clips / "talk.mp4")], encoder=COLOUR, text="subtitles", progress=False)
    new_home = tmp_path / "moved"
    new_home.mkdir()
    (clips / "talk.mp4").rename(new_home / "talk.mp4")
    (new_home / "talk.srt").write_text(srt((1, 2, TREASURE)))
    report = lib.index([str(new_home / "talk.mp4")], progress=False)
    assert [b for _, b in report.moved] == [str(new_home / "talk.mp4")]
    assert report.text_redone == [str(new_home / "talk.mp4")]
    assert [t[1] for t in spans(lib)] == [TREASURE]


@pytest.mark.usefixtures("colour_plugin")
def test_catalog_from_before_sidecars_were_recorded(clips: Path) -> None:
    """Rows with no fingerprint (older vagent): without sidecars nothing is redone and the
    fingerprint is recorded; with sidecars the text is redone once (they may have come later)."""
    (clips / "talk.srt").write_text(srt((1, 2, TREASURE)))
    lib = Library.open("lib")
    lib.index([str(clips)], encoder=COLOUR, text="subtitles", progress=False)
    with lib.catalog.session() as s:
        s.execute(update(VideoRow).values(sidecars=None))
    report = lib.index([str(clips)], progress=False)
    assert report.text_redone == [str(clips / "talk.mp4")]
    assert report.skipped == [str(clips / "other.mp4")]
    assert [t[1] for t in spans(lib)] == [TREASURE]  # once, not twice
    with lib.catalog.session() as s:
        assert None not in set(s.scalars(select(VideoRow.sidecars)))
    assert not lib.index([str(clips)], progress=False).text_redone


@pytest.mark.usefixtures("colour_plugin")
def test_frames_only_library_ignores_sidecars(clips: Path) -> None:
    lib = Library.open("lib")
    lib.index([str(clips)], encoder=COLOUR, text="none", progress=False)
    (clips / "talk.srt").write_text(srt((1, 2, TREASURE)))
    report = lib.index([str(clips)], progress=False)
    assert not report.text_redone and len(report.skipped) == 2


@pytest.mark.slow
def test_cli_report_line_says_text_redone(clips: Path, tmp_path: Path) -> None:
    env = {**os.environ, "VAGENT_HOME": str(tmp_path / "home")}
    base = [sys.executable, "-m", "vagent", "index", str(clips / "talk.mp4"), "--library", "c"]
    cmd = [*base, "--encoder", TINY_CLIP, "--text", "subtitles"]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert first.returncode == 0, first.stderr
    (clips / "talk.srt").write_text(srt((1, 2, TREASURE)))
    proc = subprocess.run(base, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "unchanged 0, failed 0, text redone 1" in proc.stdout, proc.stdout


def test_fingerprint_sees_add_edit_relink_and_remove(tmp_path: Path) -> None:
    from vagent.text.sidecars import NO_SIDECARS, fingerprint

    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    (tmp_path / "v2.srt").write_text("not mine")  # another stem: ignored
    seen = [fingerprint(video)]
    assert seen[0] == NO_SIDECARS
    (tmp_path / "v.srt").write_text("one")
    seen.append(fingerprint(video))
    (tmp_path / "v.srt").write_text("two!")
    seen.append(fingerprint(video))
    (tmp_path / "a.srt").write_text("a")
    (tmp_path / "b.srt").write_text("b")
    (tmp_path / "v.srt").unlink()
    (tmp_path / "v.srt").symlink_to("a.srt")
    seen.append(fingerprint(video))
    (tmp_path / "v.srt").unlink()
    (tmp_path / "v.srt").symlink_to("b.srt")
    seen.append(fingerprint(video))
    (tmp_path / "v.srt").unlink()
    seen.append(fingerprint(video))
    assert len(set(seen[:-1])) == len(seen) - 1 and seen[-1] == NO_SIDECARS
    assert np.unique([fingerprint(video) for _ in range(3)]).size == 1
