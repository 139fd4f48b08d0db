"""Thread settings of the server's search workers."""

from __future__ import annotations


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
