"""Scene cuts follow dedupe's decision (issue 15: "segments built by scene cuts use the same
signals").

A held-slides video (a slide every 5 s, a webcam inset that moves every frame, sensor noise,
H.264) is indexed with ``--segmenter scene/<threshold>`` by a test encoder that sees where things
are (``tests.plugins.thumb``: the colour encoder averages the inset away). With dedupe off the
inset's motion turns consecutive vectors past a sensitive threshold and cuts inside slides; with
dedupe on a frame judged the same picture as the last frame encoded reuses its vector exactly,
so the distance inside a held slide is 0 and the cuts are the slide changes, to the frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from tests.conftest import invoke_cli, using_plugins
from tests.plugins import thumb
from tests.plugins.thumb import ThumbEncoder
from vagent import plugins
from vagent.bench.content import content_video
from vagent.catalog import SegmentRow
from vagent.components import DECODER
from vagent.ingest.encode import encode_video
from vagent.library import Library

HOLD = 5.0  # seconds per slide
SECONDS = 30.0
THRESHOLD = 0.02  # a cosine distance: sensitive enough that the moving inset crosses it


@pytest.fixture(scope="module")
def slides(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("scene")
    return content_video(d / "slides.mp4", "slides", SECONDS, size=(320, 180), fps=10, hold=HOLD)


@pytest.fixture
def thumb_plugin() -> Iterator[None]:
    with using_plugins(thumb):
        yield


def _segments(folder: Path, video: Path, dedupe: str) -> list[tuple[float, float, int]]:
    """Index ``video`` through the CLI with scene cuts (no cap within the video), and return
    its segments as (start, end, frames)."""
    invoke_cli(
        "index", str(video), "--library", str(folder), "--encoder", "thumb", "--text", "none",
        "--segmenter", f"scene/{THRESHOLD}", "--segment-seconds", "600", "--dedupe", dedupe,
    )  # fmt: skip
    lib = Library.open(folder)
    with lib.catalog.session() as s:
        rows = s.scalars(select(SegmentRow).order_by(SegmentRow.start)).all()
        got = [(r.start, r.end, r.n_frames) for r in rows]
    lib.close()
    return got


def test_scene_cuts_inside_held_slides_only_without_dedupe(
    thumb_plugin: None, slides: Path, tmp_path: Path
) -> None:
    changes = [HOLD * k for k in range(1, int(SECONDS / HOLD))]  # 5, 10, ..., 25
    on = _segments(tmp_path / "on", slides, "on")
    # one segment per slide, each opening on the first frame sampled from the new slide
    assert [s for s, _, _ in on] == [0.0, *changes]
    assert [n for *_, n in on] == [5] * 6 and on[-1][1] >= SECONDS - 1
    off = _segments(tmp_path / "off", slides, "off")
    # the inset's motion cuts held slides, and every slide change still cuts
    assert len(off) > len(on) and set(changes) <= {s for s, _, _ in off}
    assert sum(n for *_, n in off) == 30


def test_a_duplicate_has_distance_zero_and_a_slide_change_does_not(slides: Path) -> None:
    """The distances the scene segmenter reads, with and without dedupe: the inset's motion is
    above the threshold without it, exactly 0 with it; slide changes stay far above."""
    dec = plugins.registry().create(DECODER, "pyav")
    info = dec.probe(str(slides))

    def vectors(dedupe: bool) -> np.ndarray:
        got = encode_video(dec, ThumbEncoder(), info, 1.0, batch_size=4, dedupe=dedupe)
        assert len(got.vectors) == 30
        return got.vectors

    def distances(v: np.ndarray) -> np.ndarray:
        return 1.0 - np.einsum("ij,ij->i", v[1:], v[:-1])

    change = np.zeros(29, bool)
    change[[4, 9, 14, 19, 24]] = True  # between frames 4|5, 9|10, ...
    v_on = vectors(True)
    off, on = distances(vectors(False)), distances(v_on)
    assert (off[~change] > THRESHOLD).any()  # the moving inset alone crosses the threshold
    # a duplicate reuses the vector exactly: distance 0 (up to float rounding of 1 - |v|^2)
    assert all(np.array_equal(v_on[i + 1], v_on[i]) for i in np.flatnonzero(~change))
    assert np.all(on[~change] < 1e-6)
    assert np.all(on[change] > 10 * THRESHOLD) and np.allclose(on[change], off[change], atol=0.01)
