"""Thread settings of the server's search workers."""

from __future__ import annotations

import sys
from typing import Any

# Seconds a thread may hold Python's lock while another waits for it (Python's default: 0.005).
SWITCH_INTERVAL = 0.001


def one_openmp_thread() -> None:
    """OpenMP parallel regions started from this thread run on one thread.

    A search scores one query: split over OpenMP threads (FAISS does), the work is far smaller
    than the cost of waking the team, and more so on busy cores (measured on these 2 loaded
    cores: a FAISS search of a few vectors took 5-11 ms with 2 threads, 0.01 ms with 1). The
    server runs searches side by side instead. libgomp keeps this setting per thread, so other
    threads (an index job) keep theirs. Only the OpenMP runtimes loaded now are set, so call it
    after the thread's first search. A no-op without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="openmp")


def one_blas_thread() -> Any:
    """BLAS (NumPy's OpenBLAS, FAISS's) on one thread, for the whole process.

    A server's BLAS calls are small: a query's matrix products (the light MiniLM runs in
    NumPy). With two BLAS threads each product wakes the other thread, and OpenBLAS runs the
    calls of concurrent threads one at a time, so searches side by side wait for each other:
    measured on these 2 loaded cores, 8 searches in 8 threads did 0.7x the work of one at a
    time with 2 BLAS threads, 1.9x with one. With one, each search's products run in its own
    thread, beside the others. OpenBLAS keeps this setting for the process (an index job in
    the server too: its models run in torch, which keeps its own threads). Only the BLAS
    libraries loaded now are set: call it once the query encoders are loaded and after the
    first search. Returns what ``restore_original_limits()`` undoes it with (the server, when
    it stops); None without threadpoolctl, which leaves BLAS as it is."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=1, user_api="blas")


def short_switch_interval() -> float | None:
    """Python's lock handed over after ``SWITCH_INTERVAL`` instead of 5 ms, for the process.

    A server's threads each need the lock for short turns between calls that release it: the
    event loop between requests, a search between catalog reads, the query encoder between
    its matrix products (one encode holds every waiting search: it needs the lock back some
    hundred times per call). With 5 ms, each of those turns can wait 5 ms behind a thread
    that runs Python meanwhile, and the encoder, the one path all queries go through, waits
    most. Returns the interval it replaced (for the server to put back when it stops); None
    when it was already as short."""
    before = sys.getswitchinterval()
    if before <= SWITCH_INTERVAL:
        return None
    sys.setswitchinterval(SWITCH_INTERVAL)
    return before
