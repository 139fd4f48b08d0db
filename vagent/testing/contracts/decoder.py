"""The decoder contract (``vagent.components.Decoder``), over real H.264 files the suite
writes with PyAV (``vagent.synth``): red, green, blue, two seconds each, 25 fps.

``probe`` reads the duration, rate and size; ``sample`` yields uint8 RGB frames in batches,
one per ``1/fps`` seconds from 0, in time order, with their colours where they were written,
resized once when asked; ``frames_at`` returns the frames at the times asked, in their order;
a missing, empty, non-video file or a folder raises ``BadVideo`` naming the path (from
``probe``, and from ``sample`` by the time it is iterated).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path
from typing import ClassVar

import numpy as np

from vagent.components import Decoder
from vagent.errors import BadVideo
from vagent.testing.contracts.base import Contract
from vagent.types import FrameBatch

SIZE = (96, 64)  # width, height
FPS = 25
SECONDS = 2.0  # per colour
ORDER = ("red", "green", "blue")
_made: dict[str, Path] = {}


def clip() -> Path:
    """The suite's video, written once per process (removed at exit)."""
    if "clip" not in _made:
        from vagent.synth import make_video

        folder = Path(tempfile.mkdtemp(prefix="vagent-decoder-contract-"))
        atexit.register(shutil.rmtree, folder, True)
        _made["clip"] = make_video(
            folder / "rgb.mp4", ORDER, SECONDS, fps=FPS, size=SIZE, keyframe_seconds=1.0
        )
    return _made["clip"]


def _drain(decoder: Decoder, path: Path) -> None:
    for _ in decoder.sample(str(path), 1.0, None):
        pass


def colour_at(t: float) -> str:
    return ORDER[min(int(t // SECONDS), len(ORDER) - 1)]


class DecoderContract(Contract[Decoder]):
    """Subclass and define ``make(self) -> Decoder``."""

    kind: ClassVar[str] = "decoder"
    base: ClassVar[type] = Decoder
    reuse: ClassVar[bool] = True

    def _looks(self, image: np.ndarray, want: str, where: str) -> None:
        from vagent.synth import COLORS

        mean = image.reshape(-1, 3).mean(axis=0)
        dist = {name: float(np.linalg.norm(mean - np.array(COLORS[name]))) for name in ORDER}
        got = min(dist, key=lambda k: dist[k])
        self.expect(
            got == want and dist[want] < 40, f"{where}: mean RGB {mean.round()} is not {want}"
        )

    def _bad_files(self) -> list[tuple[Path, str]]:
        d = self.tmp_path
        (d / "empty.mp4").write_bytes(b"")
        (d / "notes.mp4").write_text("this is not a video\n" * 20)
        (d / "folder.mp4").mkdir()
        return [
            (d / "missing.mp4", "a missing file"),
            (d / "empty.mp4", "an empty file"),
            (d / "notes.mp4", "a text file"),
            (d / "folder.mp4", "a folder"),
        ]

    def _bad_video(self, exc: BadVideo, path: Path, what: str) -> None:
        self.expect(str(path) in str(exc), f"BadVideo for {what} does not name the path: {exc}")
        self.expect(exc.reason and "\n" not in str(exc), f"BadVideo for {what}: {exc!r}")

    def test_probe_reads_the_headers(self) -> None:
        path = clip()
        info = self.component().probe(str(path))
        self.expect(info.path == str(path), f"probe path {info.path!r}")
        self.expect(abs(info.duration - 3 * SECONDS) < 0.2, f"duration {info.duration}, not 6 s")
        self.expect((info.width, info.height) == SIZE, f"size {info.width}x{info.height}")
        self.expect(abs(info.fps - FPS) < 0.5, f"fps {info.fps}, not {FPS}")
        self.expect(isinstance(info.codec, str) and info.codec, f"codec {info.codec!r}")

    def test_probe_refuses_what_is_not_a_video(self) -> None:
        dec = self.component()
        for path, what in self._bad_files():
            exc = self.raises(BadVideo, functools.partial(dec.probe, str(path)), f"probe of {what}")
            self._bad_video(exc, path, what)

    def test_sample_refuses_what_is_not_a_video(self) -> None:
        dec = self.component()
        for path, what in self._bad_files():
            exc = self.raises(BadVideo, functools.partial(_drain, dec, path), f"sample of {what}")
            self._bad_video(exc, path, what)

    def _sampled(self, fps: float, size: tuple[int, int] | None, batch: int) -> FrameBatch:
        times: list[float] = []
        images: list[np.ndarray] = []
        for b in self.component().sample(str(clip()), fps, size, batch):
            self.expect(isinstance(b, FrameBatch), f"sample yielded {type(b).__name__}")
            self.expect(0 < len(b) <= batch, f"a batch of {len(b)} frames (batch_size {batch})")
            self.expect(
                b.images.dtype == np.uint8 and b.images.ndim == 4 and b.images.shape[3] == 3,
                f"images {b.images.dtype} {b.images.shape}, not (n, h, w, 3) uint8",
            )
            self.expect(len(b.times) == len(b.images), "times and images differ in count")
            times += [float(t) for t in b.times]
            images += list(b.images)
        self.expect(images, "sample yielded no frames")
        return FrameBatch(np.asarray(times), np.stack(images))

    def test_sample_one_frame_per_period_from_zero_in_order(self) -> None:
        for fps in (2.0, 1.0, 0.5):
            got = self._sampled(fps, None, 5)
            want = int(np.ceil(3 * SECONDS * fps))
            self.expect(
                abs(len(got) - want) <= 1, f"{len(got)} frames at {fps} fps, not about {want}"
            )
            period, slack = 1 / fps, 0.5 / fps + 1.5 / FPS
            self.expect(np.all(np.diff(got.times) > 0), f"times not increasing: {got.times}")
            for k, t in enumerate(got.times):
                self.expect(
                    abs(t - k * period) <= slack, f"frame {k} at {t:.3f} s, due at {k * period} s"
                )

    def test_sample_native_size_and_resize(self) -> None:
        w, h = SIZE
        native = self._sampled(1.0, None, 4)
        self.expect(native.images.shape[1:] == (h, w, 3), f"native {native.images.shape[1:]}")
        small = self._sampled(1.0, (48, 32), 4)
        self.expect(small.images.shape[1:] == (32, 48, 3), f"resized {small.images.shape[1:]}")

    def test_sample_shows_what_was_written_when(self) -> None:
        got = self._sampled(2.0, None, 32)
        for t, image in zip(got.times, got.images):
            if abs(t % SECONDS) > 0.1 and abs(t % SECONDS - SECONDS) > 0.1:  # not at a cut
                self._looks(image, colour_at(float(t)), f"frame at {t:.2f} s")

    def test_frames_at_the_times_asked_in_their_order(self) -> None:
        asked = [5.0, 1.0, 3.0, 1.0]
        got = self.component().frames_at(str(clip()), asked)
        self.expect(len(got) == len(asked), f"{len(got)} frames for {len(asked)} times")
        self.expect(got.images.dtype == np.uint8, f"images {got.images.dtype}")
        for t, have, image in zip(asked, got.times, got.images):
            self.expect(abs(float(have) - t) <= 1.0, f"asked {t} s, got the frame at {have} s")
            self._looks(image, colour_at(t), f"frame asked at {t} s")
        small = self.component().frames_at(str(clip()), [1.0], (48, 32))
        self.expect(small.images.shape == (1, 32, 48, 3), f"resized {small.images.shape}")
        none = self.component().frames_at(str(clip()), [])
        self.expect(len(none) == 0, f"{len(none)} frames for no times")
