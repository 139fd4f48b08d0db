"""Thread settings for small model calls.

A search encodes one short query: a few matrix products of a handful of rows. Split across
OpenMP threads, such tiny products spend their time waiting for each other, and far more so
when other processes keep the cores busy: measured here on 2 cores under load, MiniLM took
~490 ms per query with 2 threads and ~13 ms with 1. So query-time encodes run single-threaded;
batch work (indexing) keeps all threads.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run the block with torch on one intra-op thread (a no-op when torch is not loaded)."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
