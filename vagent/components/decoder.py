"""The ``decoder`` kind: reads video files."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

import numpy as np

from vagent.types import FrameBatch, VideoInfo


class Decoder(ABC):
    """Reads video files. ``probe`` reads headers; ``sample`` yields frames at a fixed rate."""

    id: str = "decoder"

    @abstractmethod
    def probe(self, path: str) -> VideoInfo:
        """Read a file's headers. Raise ``vagent.errors.BadVideo`` naming the reason."""

    @abstractmethod
    def sample(
        self, path: str, fps: float, size: tuple[int, int] | None, batch_size: int = 32
    ) -> Iterator[FrameBatch]:
        """Yield frames at ``fps`` (one per ``1/fps`` seconds, starting at 0) in batches.

        ``size`` is ``(width, height)`` to resize to once, in the decoder (None: native size).
        Each frame is the first decoded frame at or after its sample time. Memory must stay
        bounded by a few batches however long the video is.
        """

    def frames_at(
        self, path: str, times: Sequence[float], size: tuple[int, int] | None = None
    ) -> FrameBatch:
        """Frames at the given ``times`` (seconds, any order): the first frame at or after each.

        The default samples the whole file at a rate fine enough to hit every time; decoders
        that can seek should override it. Raises ``vagent.errors.BadVideo``.
        """
        if not times:
            return FrameBatch(np.zeros(0), np.zeros((0, 0, 0, 3), np.uint8))
        want = np.asarray(sorted(set(float(t) for t in times)))
        gaps = np.diff(want)
        step = float(gaps[gaps > 0].min()) if (gaps > 0).any() else 1.0
        fps = min(max(1.0 / step, 1.0), 30.0)
        got_t: list[float] = []
        got_i: list[np.ndarray] = []
        for batch in self.sample(path, fps, size):
            for t, img in zip(batch.times, batch.images):
                got_t.append(float(t))
                got_i.append(img)
        if not got_t:
            raise ValueError(f"{path}: no frames decoded")
        tt = np.asarray(got_t)
        pick = [int(np.abs(tt - t).argmin()) for t in times]
        return FrameBatch(np.asarray([tt[i] for i in pick]), np.stack([got_i[i] for i in pick]))
