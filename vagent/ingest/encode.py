"""Decode and encode one video at once: a decoder thread feeds a bounded queue, the encoder
drains it, so both run together and memory holds a few batches whatever the video's length.

With ``dedupe`` on, the decoder thread also marks near-duplicates of the last frame encoded
(``vagent.ingest.dedupe``); the encoder skips them and they reuse that frame's vector, so every
sampled frame still has a vector."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vagent.components import Decoder, VisualEncoder
from vagent.ingest.dedupe import Deduper
from vagent.ingest.memory import release_freed_memory
from vagent.types import FrameBatch, VideoInfo

_DONE = object()


@dataclass
class EncodedVideo:
    """A video's sampled frame ``times`` (n,) and ``vectors`` (n, dim); ``reused``: how many
    frames took the vector of the last frame encoded instead of being encoded."""

    times: np.ndarray
    vectors: np.ndarray
    reused: int = 0


MAX_ASPECT = 4.0


def frame_size(info: VideoInfo, short_side: int) -> tuple[int, int]:
    """(width, height) with the short side at ``short_side`` and the aspect ratio kept, except
    that the long side stays within ``MAX_ASPECT`` times ``short_side`` (a 40:1 strip would
    otherwise decode to frames tens of thousands of pixels wide)."""
    long_side = max(info.width, info.height)
    scale = min(short_side / min(info.width, info.height), MAX_ASPECT * short_side / long_side)
    return max(2, round(info.width * scale)), max(2, round(info.height * scale))


def encode_video(
    decoder: Decoder,
    encoder: VisualEncoder,
    info: VideoInfo,
    fps: float,
    batch_size: int = 32,
    queue_batches: int = 3,
    on_batch: Callable[[FrameBatch], None] | None = None,
    short_side: int | None = None,
    dedupe: bool = False,
    after: float | None = None,
) -> EncodedVideo:
    """Sample ``info.path`` at ``fps`` and embed every sampled frame.

    Frames are decoded with their short side at ``short_side`` (default: the encoder's input
    size; larger when another consumer, OCR, needs detail). ``on_batch`` sees every batch after
    it is encoded (all of its frames, duplicates included; with ``dedupe``, its ``encoded``
    mask says which frames were encoded). Errors raised by the decoder (in its
    thread) are re-raised here. ``after``: only frames later than this time (seconds) are
    encoded and returned (a grown file whose earlier frames are already indexed).
    """
    size = frame_size(info, short_side or encoder.input_size)
    q: queue.Queue[object] = queue.Queue(maxsize=queue_batches)
    stop = threading.Event()
    failure: list[BaseException] = []
    deduper = Deduper() if dedupe else None

    def produce() -> None:
        try:
            for batch in decoder.sample(info.path, fps, size, batch_size):
                if after is not None:
                    later = batch.times > after
                    if not later.any():
                        continue
                    batch = FrameBatch(batch.times[later], batch.images[later])
                keep = deduper.keep(batch.images) if deduper is not None else None
                while not stop.is_set():
                    try:
                        q.put((batch, keep), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as exc:
            failure.append(exc)
        finally:
            q.put(_DONE)

    thread = threading.Thread(target=produce, name="vagent-decode", daemon=True)
    thread.start()
    times: list[np.ndarray] = []
    vectors: list[np.ndarray] = []
    last: np.ndarray | None = None  # the vector of the last frame encoded
    try:
        while True:
            got = q.get()
            if got is _DONE:
                break
            assert isinstance(got, tuple)
            item, keep = got
            assert isinstance(item, FrameBatch)
            times.append(item.times)
            if keep is None:
                vectors.append(encoder.encode_images(item.images))
            else:
                vectors.append(_fill(encoder, item.images, keep, last))
                last = vectors[-1][-1]
            if on_batch is not None:
                on_batch(item if keep is None else FrameBatch(item.times, item.images, keep))
            del item, got
            release_freed_memory()
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.1)
        thread.join()
    if failure:
        raise failure[0]
    if not times:
        return EncodedVideo(np.zeros(0), np.zeros((0, encoder.dim), np.float32))
    reused = deduper.reused if deduper is not None else 0
    return EncodedVideo(np.concatenate(times), np.concatenate(vectors), reused)


def _fill(
    encoder: VisualEncoder, images: np.ndarray, keep: np.ndarray, last: np.ndarray | None
) -> np.ndarray:
    """Encode ``images[keep]``; every other frame takes the vector of the last frame encoded
    before it (``last`` for those before this batch's first kept frame)."""
    fresh = encoder.encode_images(images[keep]) if keep.any() else None
    rows = [] if last is None else [last[None]]
    if fresh is not None:
        rows.append(fresh)
    table = np.concatenate(rows).astype(np.float32, copy=False)
    # row of each frame in ``table``: kept frames so far (minus one when there is no ``last``)
    pos = np.cumsum(keep) - (1 if last is None else 0)
    return table[pos]
