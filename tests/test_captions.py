"""Caption spans: windows of frames go to a captioner in batches; a failure costs one window."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vagent.components import Captioner
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
