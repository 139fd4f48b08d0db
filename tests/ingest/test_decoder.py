"""The PyAV decoder: what it probes, which frames it samples, and how it refuses bad files."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from vagent_pyav.decoder import PyAVDecoder

from tests.conftest import sample_videos
from vagent.errors import BadVideo
from vagent.synth import make_audio_only, make_video


def _times(dec: PyAVDecoder, path: Path, fps: float = 1.0) -> np.ndarray:
    return np.concatenate([b.times for b in dec.sample(str(path), fps, None, batch_size=7)])


def test_probe(video_dir: Path) -> None:
    info = PyAVDecoder().probe(str(video_dir / "rgb.mp4"))
    assert (info.duration, info.fps, info.width, info.height) == (30.0, 25.0, 320, 240)
    assert info.codec == "h264" and info.frame_count == 750
    assert info.keyframe_interval == pytest.approx(2.0)


@pytest.mark.parametrize("keyframe_seconds", [0.5, 1.0, 2.0, 10.0])
@pytest.mark.parametrize("fps", [1.0, 0.5, 3.0])
def test_gop_strategy_samples_exactly_what_sequential_does(
    tmp_path: Path, keyframe_seconds: float, fps: float
) -> None:
    path = make_video(tmp_path / "v.mp4", ["red", "blue"], 6.0, keyframe_seconds=keyframe_seconds)
    gop, seq = PyAVDecoder("gop"), PyAVDecoder("sequential")
    t_gop, t_seq = _times(gop, path, fps), _times(seq, path, fps)
    np.testing.assert_array_equal(t_gop, t_seq)
    expected = np.arange(0, 12.0 - 1e-9, 1.0 / fps)
    assert len(t_gop) == len(expected)
    assert np.all(t_gop <= expected + 0.02) and np.all(t_gop >= expected - 0.5 / fps)
    assert gop.packets_decoded <= seq.packets_decoded
    if keyframe_seconds <= 1.0 / fps:
        assert gop.packets_decoded <= 2.5 * len(t_gop)  # ~keyframes only


def test_gop_strategy_with_b_frames_gets_the_same_pixels(tmp_path: Path) -> None:
    path = tmp_path / "b.mp4"
    make_video(path, ["red", "green", "blue"], 4.0, keyframe_seconds=2.0, texture=True)
    # re-encode with B-frames (x264 'medium' uses them) so decode order != display order
    import av

    with av.open(str(path)) as src, av.open(str(tmp_path / "bf.mp4"), "w") as dst:
        out = dst.add_stream("libx264", rate=25)
        out.width, out.height, out.pix_fmt = 320, 240, "yuv420p"
        out.options = {"preset": "medium", "bf": "3", "g": "50"}
        for i, frame in enumerate(src.decode(video=0)):
            frame.pts, frame.time_base = i, Fraction(1, 25)
            for pkt in out.encode(frame):
                dst.mux(pkt)
        for pkt in out.encode():
            dst.mux(pkt)
    a = list(PyAVDecoder("gop").sample(str(tmp_path / "bf.mp4"), 1.0, (64, 48)))
    b = list(PyAVDecoder("sequential").sample(str(tmp_path / "bf.mp4"), 1.0, (64, 48)))
    ia, ib = np.concatenate([x.images for x in a]), np.concatenate([x.images for x in b])
    np.testing.assert_array_equal(np.concatenate([x.times for x in a]), np.arange(12.0))
    np.testing.assert_array_equal(ia, ib)


def test_frames_are_resized_once_in_the_decoder(video_dir: Path) -> None:
    batches = list(PyAVDecoder().sample(str(video_dir / "rgb.mp4"), 1.0, (43, 32), batch_size=8))
    assert [len(b) for b in batches] == [8, 8, 8, 6]
    assert batches[0].images.shape == (8, 32, 43, 3) and batches[0].images.dtype == np.uint8
    pixel = batches[0].images[0, 16, 20].astype(int)
    assert np.abs(pixel - (220, 30, 30)).max() <= 6


@pytest.mark.parametrize("path", sample_videos(), ids=lambda p: p.name)
def test_real_sample_videos(path: Path) -> None:
    dec = PyAVDecoder()
    info = dec.probe(str(path))
    times = _times(dec, path)
    assert info.width > 0 and info.duration > 0
    assert len(times) == pytest.approx(info.duration, abs=1.5)
    np.testing.assert_array_equal(times, _times(PyAVDecoder("sequential"), path))


def _truncated(tmp_path: Path, video_dir: Path, keep: float) -> Path:
    data = (video_dir / "rgb.mp4").read_bytes()
    p = tmp_path / "cut.mp4"
    p.write_bytes(data[: int(len(data) * keep)])
    return p


def _write(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


BAD = {
    "missing": (lambda t, v: t / "nope.mp4", "no such file"),
    "empty": (lambda t, v: _write(t / "e.mp4", b""), "empty file"),
    "text": (
        lambda t, v: _write(t / "t.mp4", b"hello, not a video\n" * 50),
        "not a readable video",
    ),
    "image": (lambda t, v: _png(t / "i.mp4"), r"a still image \(png\), not a video"),
    "audio-only": (
        lambda t, v: make_audio_only(t / "a.mp4"),
        r"no video stream \(streams: audio\)",
    ),
    "directory": (lambda t, v: v, "is a directory"),
}


def _png(p: Path) -> Path:
    import av

    with av.open(str(p), "w", format="image2") as out:
        s = out.add_stream("png", rate=1)
        s.width, s.height, s.pix_fmt = 16, 16, "rgb24"
        frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
        for pkt in s.encode(frame):
            out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    return p


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_files_are_refused_with_a_reason(kind: str, tmp_path: Path, video_dir: Path) -> None:
    make, reason = BAD[kind]
    path = make(tmp_path, video_dir)
    with pytest.raises(BadVideo, match=reason) as err:
        dec = PyAVDecoder()
        info = dec.probe(str(path))
        list(dec.sample(info.path, 1.0, None))
    assert str(path) in str(err.value)
