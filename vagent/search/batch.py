"""Dynamic micro-batching of query encodes: searches that run at once (``vagent serve``'s
search workers) have their queries encoded together, in one call of the encoder.

A search hands its query to the encoder's :class:`Batcher` and waits. While fewer than
``lanes`` encodes run, a waiting search takes the queue's oldest queries (at most ``cap``,
its own among them or before them) and encodes them in one call; the others wait for their
rows. A search alone is encoded at once, alone: only queries that arrive while every lane is
busy are put together. A tiny model spends most of a call on per-call work (Python, one pass
over its weights), so a call of 8 queries costs far less than 8 calls, and the waiting searches
are encoded in the time of one.

Once searches come together (the last call held more than one query), a free lane with fewer
than ``cap`` queries waiting first waits up to ``fill_wait`` for more (less as soon as ``cap``
are there): the searches of the call just done come back a few milliseconds apart, and without
the wait the first few back were encoded in a call of their own, the rest in the next (8
clients: calls alternating 2 and 6 queries). The light MiniLM computes in blocks of 16 token
rows, so fewer, fuller calls cost fewer blocks per query. A lone client never waits: its calls
hold one query.

Only encoders whose rows do not depend on what else is in the call take part: an encoder says
so with ``query_batch`` (the most texts per such call; absent or 1: each query is encoded on
its own, in its own call, as before). The light MiniLM encoder is one: its batched rows are
bit-identical to single ones, so a search's hits do not depend on who searched meanwhile.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# encodes at once: half the cores (one on 2 cores: the other serves the rest of each search;
# measured on 2 loaded cores, 8 clients got ~2x the searches of 2 lanes with 4 workers)
LANES = max(1, (os.cpu_count() or 2) // 2)
CAP = 8  # queries in one call at most
# seconds a free lane waits for more queries once searches come together (module docstring);
# measured with 8 HTTP clients on 2 loaded cores, 8 clients against 1 (median of 4 alternated
# pairs): no wait 1.61x, 4 ms 1.83x, 8 ms 2.08x; CPU per query 9.5, 8.1, 7.4 ms in-process
FILL_WAIT = 0.008


class _Pending:
    __slots__ = ("done", "error", "row", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.row: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


class Batcher:
    """Encodes single texts with ``encode`` (texts -> (n, dim) rows), putting together the
    texts that wait while ``lanes`` calls run, ``cap`` per call at most; once calls hold more
    than one text, a free lane waits up to ``fill_wait`` seconds for ``cap`` texts."""

    def __init__(
        self,
        encode: Callable[[Sequence[str]], np.ndarray],
        cap: int = CAP,
        lanes: int = LANES,
        fill_wait: float = FILL_WAIT,
    ) -> None:
        if cap < 1 or lanes < 1 or fill_wait < 0:
            raise ValueError("a batcher needs cap >= 1, lanes >= 1 and fill_wait >= 0")
        self.encode_many, self.cap, self.lanes = encode, cap, lanes
        self.fill_wait = fill_wait
        self._last = 0  # texts in the last call started
        self._cond = threading.Condition()
        self._queue: deque[_Pending] = deque()
        self._running = 0
        self.calls = 0  # encoder calls made (for tests and benchmarks)
        self.largest = 0  # the most texts in one call so far

    def encode(self, text: str) -> np.ndarray:
        """The row of ``text``, as ``encode([text])[0]`` gives it."""
        mine = _Pending(text)
        waited = False
        with self._cond:
            self._queue.append(mine)
            if len(self._queue) == self.cap:
                self._cond.notify_all()  # a lane waiting for company: the call is full
            while not mine.done:
                if self._running < self.lanes and self._queue:
                    if not waited and self._last > 1 and len(self._queue) < self.cap:
                        waited = True  # searches come together: wait for the rest, once
                        self._cond.wait(self.fill_wait)
                        continue
                    batch = [self._queue.popleft() for _ in range(min(self.cap, len(self._queue)))]
                    self._running += 1
                    self.calls += 1
                    self.largest = max(self.largest, len(batch))
                    self._last = len(batch)
                    self._cond.release()
                    try:
                        self._run(batch)
                    finally:
                        self._cond.acquire()
                        self._running -= 1
                        for p in batch:  # done together: one wake-up for the whole batch
                            if p.row is None and p.error is None:
                                p.error = RuntimeError("the query was not encoded")
                            p.done = True
                        self._cond.notify_all()
                else:
                    self._cond.wait()
        if mine.error is not None:
            raise mine.error
        assert mine.row is not None
        return mine.row

    def _run(self, batch: list[_Pending]) -> None:
        """Encode ``batch`` in one call (outside the lock; each owner reads its row once the
        batch is marked done under it); when that call fails, each text on its own, so one
        query's error is its own search's alone."""
        try:
            rows = self.encode_many([p.text for p in batch])
            if len(rows) != len(batch):
                raise ValueError(f"the encoder gave {len(rows)} rows for {len(batch)} texts")
        except BaseException as exc:
            if len(batch) == 1:
                batch[0].error = exc
                return
            for p in batch:
                try:
                    p.row = self.encode_many([p.text])[0]
                except BaseException as one:
                    p.error = one
            return
        for p, row in zip(batch, rows):
            p.row = row


_BATCHERS: weakref.WeakKeyDictionary[Any, Batcher] = weakref.WeakKeyDictionary()
_BATCHERS_LOCK = threading.Lock()


def encode_query(encoder: Any, text: str) -> np.ndarray:
    """``encoder.encode([text])[0]``, batched with the queries of concurrent searches when
    ``encoder`` allows it (``query_batch`` > 1; see the module docstring)."""
    cap = int(getattr(encoder, "query_batch", 1) or 1)
    if cap <= 1:
        return np.asarray(encoder.encode([text]))[0]
    with _BATCHERS_LOCK:
        try:
            batcher = _BATCHERS.get(encoder)
            if batcher is None:
                batcher = _BATCHERS[encoder] = Batcher(_weak(encoder), cap=min(cap, CAP))
        except TypeError:  # an encoder that cannot be weakly referenced: on its own
            batcher = None
    if batcher is None:
        return np.asarray(encoder.encode([text]))[0]
    return batcher.encode(text)


def _weak(encoder: Any) -> Callable[[Sequence[str]], np.ndarray]:
    """``encoder.encode`` without keeping ``encoder`` alive (its batcher is kept beside it)."""
    ref = weakref.WeakMethod(encoder.encode)

    def call(texts: Sequence[str]) -> np.ndarray:
        fn = ref()
        if fn is None:  # cannot happen while a search holds the encoder
            raise RuntimeError("the query encoder is gone")
        return np.asarray(fn(texts))

    return call
