"""Search reader processes: each opens the library read-only with its own query encoders and
vectors and answers searches, so searches run side by side without sharing one interpreter
lock (``vagent serve --search-processes N``).

Each search in a reader is ``Library.search``: one catalog snapshot and the vectors of that
snapshot's generation, whatever a writer commits meanwhile. Memory: every reader holds its own
copy of the library's vectors and of the query models that are not memory-mapped (the NumPy
MiniLM's weights are mapped, so the page cache holds them once; a CLIP text tower is per
process), plus an interpreter with NumPy, FAISS and SQLAlchemy: 120-170 MB resident each on
the demo library, where no torch is loaded; more where a CLIP text tower is. Readers start with
the spawn method: they load installed plugins only.
"""

from __future__ import annotations

import multiprocessing
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from vagent.errors import LibraryNotFound, VagentError
from vagent.paths import LibraryLocation

_LIB: Any = None  # the reader's Library (in a reader process)

# An error crosses back as (kind, one line): exception classes with their own constructors do
# not all survive pickling.
_KINDS: dict[str, type[Exception]] = {
    "library": LibraryNotFound,
    "vagent": VagentError,
    "value": ValueError,
}


def _open(location: LibraryLocation) -> None:
    """In a reader, at its start: the library and its query encoders."""
    global _LIB
    from vagent.library import Library
    from vagent.serve.threads import one_blas_thread, one_openmp_thread

    _LIB = Library(location)
    _LIB.load_models()
    with warnings.catch_warnings():  # the server process says it at its start
        warnings.simplefilter("ignore")
        _LIB.search("warm up", k=1)  # vectors and text state loaded before the first request
    one_openmp_thread()
    one_blas_thread()


def _search(query: str, kwargs: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", [h.to_dict() for h in _LIB.search(query, **kwargs)]
    except LibraryNotFound as exc:
        return "library", str(exc).splitlines()[0]
    except VagentError as exc:
        return "vagent", str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    except ValueError as exc:
        return "value", str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _ping() -> bool:
    return _LIB is not None


class Readers:
    """``n`` reader processes over the library at ``location``."""

    def __init__(self, location: LibraryLocation, n: int) -> None:
        self.n = n
        self.pool = ProcessPoolExecutor(
            max_workers=n,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_open,
            initargs=(location,),
        )

    def start(self) -> None:
        """Start every reader and wait until each has loaded (a reader that cannot load the
        library raises VagentError here, before the server answers)."""
        try:
            for f in [self.pool.submit(_ping) for _ in range(self.n)]:
                f.result()
        except BrokenProcessPool:
            raise VagentError(
                "a search reader process could not open the library (its error is above); "
                "serve without --search-processes"
            ) from None

    def search(self, query: str, kwargs: dict[str, Any]) -> Future[list[dict[str, Any]]]:
        """The hits (as dicts) of one search in a reader."""
        out: Future[list[dict[str, Any]]] = Future()

        def done(f: Future[tuple[str, Any]]) -> None:
            try:
                kind, value = f.result()
            except BaseException as exc:  # a reader died: the pool is broken
                out.set_exception(exc)
                return
            if kind == "ok":
                out.set_result(value)
            else:
                out.set_exception(_KINDS[kind](value))

        self.pool.submit(_search, query, kwargs).add_done_callback(done)
        return out

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
