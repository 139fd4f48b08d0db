"""Caption spans: windows of frames go to a captioner in batches; a failure costs one window."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from tests.conftest import TINY_CLIP
from vagent import Library
from vagent.catalog.schema import TextSpanRow
from vagent.components import Captioner
from vagent.errors import VagentError
from vagent.synth import make_video
from vagent.text.captions import CaptionTrack


class Brightness(Captioner):
    """Test captioner: says how bright each clip is; fails on clips whose mean is in ``bad``."""

    id = "test/brightness"

    def __init__(self, bad: set[int] | None = None) -> None:
        self.calls: list[int] = []
        self.bad = bad or set()

    def caption(self, clips: Sequence[np.ndarray]) -> list[str]:
        self.calls.append(len(clips))
        out = []
        for c in clips:
            level = round(float(c.mean()))
            if level in self.bad:
                raise RuntimeError(f"cannot see level {level}")
            out.append(f"a frame  of level {level} with {len(c)} frames")
        return out


def _feed(track: CaptionTrack, seconds: int, fps: float = 1.0) -> None:
    times = np.arange(0, seconds, 1 / fps)
    images = np.stack([np.full((4, 4, 3), int(t // 10) * 10, np.uint8) for t in times])
    for i in range(0, len(times), 7):  # batches that straddle windows
        track.add(times[i : i + 7], images[i : i + 7])


def test_one_caption_per_window_batched_with_spread_frames() -> None:
    cap = Brightness()
    track = CaptionTrack(cap, 10.0, warn=lambda m: None, per_window=4, batch=2)
    _feed(track, 45)
    spans = track.finish()
    assert [(s.start, s.end) for s in spans] == [(0, 10), (10, 20), (20, 30), (30, 40), (40, 50)]
    assert all(s.source == "caption" for s in spans)
    assert spans[1].text == "a frame of level 10 with 4 frames"  # whitespace folded
    assert spans[4].text.endswith("with 4 frames")  # 5 frames in the last window, 4 kept
    assert max(cap.calls) <= 3 and sum(cap.calls) == 5


def test_a_failing_window_is_reported_and_the_rest_captioned() -> None:
    warnings: list[str] = []
    cap = Brightness(bad={20})
    track = CaptionTrack(cap, 10.0, warn=warnings.append, batch=4)
    _feed(track, 40)
    spans = track.finish()
    assert [s.start for s in spans] == [0, 10, 30]
    assert track.failed == 1
    assert len(warnings) == 1 and "20-30 s" in warnings[0] and "cannot see level 20" in warnings[0]


@pytest.mark.slow
def test_index_with_captions_from_the_tiny_random_vlm(tmp_path: Path) -> None:
    """The real hf-vlm captioner (tiny random SmolVLM, asked for by name) through `index`."""
    make_video(tmp_path / "v" / "clip.mp4", ["red", "blue"], 10.0, size=(160, 120))
    lib = Library.open(tmp_path / "lib")
    report = lib.index(
        [tmp_path / "v"],
        encoder=TINY_CLIP,
        text="captions",
        captioner="hf-vlm/tiny-random-smolvlm",
        progress=False,
    )
    assert report.ok and report.text_spans == 2
    info = lib.info()
    assert info["text"]["captioner"] == "hf-vlm/tiny-random-smolvlm"
    assert info["text"]["spans"] == {"caption": 2}
    with lib.catalog.session() as s:
        first = s.scalars(select(TextSpanRow).order_by(TextSpanRow.start)).first()
    assert first is not None and first.source == "caption" and (first.start, first.end) == (0, 10)
    hits = lib.search(first.text, mode="text", k=2)
    assert hits[0].start == 0.0 and hits[0].texts[0]["source"] == "caption"
    with pytest.raises(VagentError, match="uses --captioner hf-vlm/tiny-random-smolvlm"):
        lib.index([tmp_path / "v"], captioner="hf-vlm/other")


def test_old_catalog_without_captioner_column_is_upgraded_in_place(
    tmp_path: Path, colour_plugin: None
) -> None:
    make_video(tmp_path / "v" / "a.mp4", ["red"], 4.0, size=(64, 48))
    lib = Library.open(tmp_path / "lib")
    lib.index([tmp_path / "v"], encoder="colour", text="none", progress=False)
    lib.close()
    db = tmp_path / "lib" / "catalog.db"
    con = sqlite3.connect(db)
    con.execute("ALTER TABLE libraries DROP COLUMN captioner")  # as schema v1 first shipped
    con.commit()
    con.close()
    again = Library.open(tmp_path / "lib")
    assert again.settings().captioner is None
    assert len(again.search("red", k=1)) == 1
