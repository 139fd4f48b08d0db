"""What a server holds for its whole life: the library with its query encoders loaded once, the
agent (loaded on first ask, or at start), bounded pools for searches and for asks, and a cache
of JPEG frames."""

from __future__ import annotations

import io
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vagent.catalog import VideoRow
from vagent.errors import VagentError
from vagent.library import Library
from vagent.serve.readers import Readers
from vagent.serve.threads import one_blas_thread, one_openmp_thread, short_switch_interval
from vagent.types import Hit

if TYPE_CHECKING:
    from vagent.agent.threadstore import Threads

FRAME_CACHE = 256  # JPEGs kept (a thumbnail is a few KiB)
# searches at once (each holds one catalog connection while it runs): enough to fill a batch
# of query encodes (vagent.search.batch.CAP) while one is encoded
SEARCH_WORKERS = 8
SEARCH_QUEUE = 64  # searches waiting for a worker; more answer 503


class Busy(Exception):
    """Every worker of the pool is busy and its queue is full."""


class Service:
    """Searches run at once on ``search_workers`` threads over one shared ``Library``: each
    reads one catalog snapshot and the vectors of that snapshot's generation (a writer's new
    generation is loaded beside them, never into them), so concurrent searches share one copy
    of the models and vectors and none mixes generations. The first search of each kind (mode,
    encoder) runs alone, as it may load a model. The queries of searches that wait for the
    text encoder meanwhile are encoded together in one call (:mod:`vagent.search.batch`, where
    the encoder's rows are the same together as alone), and BLAS runs on one thread (each
    search's small products in its own thread). With ``search_processes`` the searches run in
    that many reader processes instead (:mod:`vagent.serve.readers`: no interpreter lock shared,
    a copy of the vectors and query models each). Asks run on their own ``Library`` in worker
    threads, so a long ask never blocks a search."""

    def __init__(
        self,
        library: Library,
        *,
        answerer: str | None = None,
        planner: str | None = None,
        ask_workers: int = 1,
        ask_queue: int = 4,
        search_workers: int = SEARCH_WORKERS,
        search_queue: int = SEARCH_QUEUE,
        search_processes: int = 0,
    ) -> None:
        self.lib = library
        self.answerer, self.planner = answerer, planner
        self.searches = ThreadPoolExecutor(
            max_workers=search_workers, thread_name_prefix="vagent-search"
        )
        self._search_slots = threading.BoundedSemaphore(search_workers + search_queue)
        self._first_lock = threading.Lock()  # the first search of each kind runs alone
        self._warm: set[tuple[Any, Any]] = set()
        self._tuned = threading.local()
        self._blas: list[Any] = []  # BLAS thread limits set, undone on close
        self._switch: float | None = None  # Python's switch interval before load, put back
        self._blas_lock = threading.Lock()
        self.readers = Readers(library.location, search_processes) if search_processes else None
        self._agent: Any = None
        self._agent_lock = threading.Lock()
        self.ask_lock = threading.Lock()  # one agent: its graph runs one question at a time
        self.pool = ThreadPoolExecutor(max_workers=ask_workers, thread_name_prefix="vagent-ask")
        self._slots = threading.BoundedSemaphore(ask_workers + ask_queue)
        self._frames: OrderedDict[tuple[int, float], bytes] = OrderedDict()
        self._frames_lock = threading.Lock()
        self._threads: Threads | None = None  # the threads file, read for history only
        self._threads_lock = threading.Lock()

    # ---- start / stop -----------------------------------------------------------------------

    def load(self, agent: bool = False) -> None:
        """Load the query encoders now (and the agent's models with ``agent``)."""
        self.lib.load_models()
        self._one_blas_thread()  # before the first search, so it is timed as every other
        switched = short_switch_interval()  # searches side by side hand Python's lock over
        if switched is not None and self._switch is None:
            self._switch = switched
        if self.readers is not None:
            self.readers.start()
        if agent:
            self.agent()

    def _one_blas_thread(self) -> None:
        limits = one_blas_thread()
        if limits is not None:
            with self._blas_lock:
                self._blas.append(limits)

    def close(self) -> None:
        self.searches.shutdown(wait=True, cancel_futures=True)  # searches take milliseconds
        with self._blas_lock:  # the process's BLAS threads as they were before the server
            while self._blas:
                self._blas.pop().restore_original_limits()
            if self._switch is not None:
                sys.setswitchinterval(self._switch)
                self._switch = None
        if self.readers is not None:
            self.readers.close()
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self._agent is not None:
            self._agent.close()
        with self._threads_lock:
            if self._threads is not None:
                self._threads.close()
                self._threads = None
        self.lib.close()

    # ---- search / catalog -------------------------------------------------------------------

    def search(self, query: str, **kwargs: Any) -> list[Hit]:
        """``Library.search`` in this thread, beside other searches (the first of its kind
        alone: it may load a model)."""
        kind = (kwargs.get("mode"), kwargs.get("encoder"))
        if kind in self._warm:
            return self.lib.search(query, **kwargs)
        with self._first_lock:
            hits = self.lib.search(query, **kwargs)
            self._warm.add(kind)
            return hits

    def submit_search(self, query: str, **kwargs: Any) -> Future[list[dict[str, Any]]]:
        """``search`` on a search worker, its hits as dicts; raises :class:`Busy` when every
        worker is busy and the queue is full."""
        if not self._search_slots.acquire(blocking=False):
            raise Busy
        readers = self.readers
        if readers is not None:
            try:
                fut = readers.search(query, kwargs)
            except BrokenProcessPool:  # a reader died: search in threads from now on
                self.readers = None
                sys.stderr.write("serve: a search reader process died; searching in threads\n")
            except RuntimeError:  # shutting down
                self._search_slots.release()
                raise Busy from None
            else:
                fut.add_done_callback(lambda _: self._search_slots.release())
                return fut

        def run() -> list[dict[str, Any]]:
            try:
                hits = [h.to_dict() for h in self.search(query, **kwargs)]
                if not getattr(self._tuned, "done", False):
                    # after this thread's first search, when the vector backend is loaded
                    one_openmp_thread()
                    self._one_blas_thread()  # the vector backend's BLAS too
                    self._tuned.done = True
                return hits
            finally:
                self._search_slots.release()

        try:
            return self.searches.submit(run)
        except RuntimeError:  # shutting down
            self._search_slots.release()
            raise Busy from None

    def info(self) -> dict[str, Any]:
        d = self.lib.info()
        ids = {v.path: v.id for v in self.lib.videos()}
        for v in d["videos"]:
            v["video_id"] = ids.get(v["path"])
        return d

    def videos(self) -> list[dict[str, Any]]:
        return [video_dict(v) for v in self.lib.videos()]

    def video(self, video_id: int) -> VideoRow | None:
        """The catalog's video ``video_id`` of this library, or None."""
        return next((v for v in self.lib.videos() if v.id == video_id), None)

    def frame_jpeg(self, video: VideoRow, t: float) -> bytes:
        """The frame at ``t`` seconds as a JPEG at most 480 px wide, decoded by the decoder
        the catalog recorded for ``video`` (cached)."""
        key = (video.id, round(t, 1))
        with self._frames_lock:
            if key in self._frames:
                self._frames.move_to_end(key)
                return self._frames[key]
        batch = self.lib.decoder(video).frames_at(video.path, [key[1]])
        if len(batch) == 0:
            raise VagentError(f"no frame at {t:g} s in {Path(video.path).name}")
        from PIL import Image

        img = Image.fromarray(batch.images[0])
        if img.width > 480:
            img = img.resize((480, max(1, round(img.height * 480 / img.width))))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=80)
        data = buf.getvalue()
        with self._frames_lock:
            self._frames[key] = data
            while len(self._frames) > FRAME_CACHE:
                self._frames.popitem(last=False)
        return data

    # ---- ask --------------------------------------------------------------------------------

    def agent(self) -> Any:
        with self._agent_lock:
            if self._agent is None:
                from vagent.agent import Agent

                lib = Library(self.lib.location)  # its own catalog connection and vectors
                self._agent = Agent.open(lib, answerer=self.answerer, planner=self.planner)
            return self._agent

    def history(self, thread_id: str) -> list[dict[str, Any]]:
        """The turns of thread ``thread_id`` (empty: no such thread), read from the library's
        threads file on a connection of its own: no ask worker, no model, so a long ask never
        holds it up. A thread or file that cannot be read raises VagentError (one line)."""
        from vagent.agent.threadstore import THREADS_DB, open_threads

        path = self.lib.root / THREADS_DB
        with self._threads_lock:
            if self._threads is None:
                if not (path.exists() or path.is_symlink()):
                    return []  # no ask has kept a thread yet
                self._threads = open_threads(path, self.lib.root)
            config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
            found = self._threads.saver.get_tuple(config)
        if found is None:
            return []
        values = found.checkpoint.get("channel_values") or {}
        return list(values.get("turns") or [])

    def submit(
        self, fn: Callable[[Any], Any], progress: Callable[[str, float, dict[str, Any]], None]
    ) -> Future[Any]:
        """Run ``fn(agent)`` on an ask worker; raises :class:`Busy` when the queue is full."""
        if not self._slots.acquire(blocking=False):
            raise Busy

        def run() -> Any:
            try:
                agent = self.agent()
                with self.ask_lock:
                    agent.ctx.progress = progress
                    try:
                        return fn(agent)
                    finally:
                        agent.ctx.progress = None
            finally:
                self._slots.release()

        try:
            return self.pool.submit(run)
        except RuntimeError:  # shutting down
            self._slots.release()
            raise Busy from None


def video_dict(v: VideoRow) -> dict[str, Any]:
    return {
        "video_id": v.id,
        "path": v.path,
        "name": Path(v.path).name,
        "duration": round(v.duration, 3),
        "resolution": f"{v.width}x{v.height}" if v.width else "audio",
        "codec": v.codec,
        "missing": not Path(v.path).is_file(),
    }
