"""``vagent bench commits``: an index commit's vector bytes follow what it adds when it appends
deltas, and the library's size when every file is rewritten (bytes only; never timed)."""

from __future__ import annotations

import pytest

from tests.conftest import TINY_CLIP
from vagent.bench import commits


@pytest.mark.slow  # four small libraries, each with its encoder loaded
def test_bench_commits_reports_bytes_against_the_library_size() -> None:
    append, rewrite = commits.run([2000], files=3, frames=30, encoder=TINY_CLIP)
    assert (append["mode"], rewrite["mode"]) == ("append", "rewrite")
    raw = append["new_vector_bytes"]
    # appending: the new file's vectors (frames + segments, with their ids), not the library
    assert raw <= append["vector_bytes_per_commit"] < 2 * raw
    assert append["delta_files"] > 0 and rewrite["delta_files"] == 0
    # rewriting: every vector file again, the library's size
    assert rewrite["vector_bytes_per_commit"] >= 2000 * raw // 30
    assert rewrite["vector_bytes_per_commit"] >= 0.9 * rewrite["library_vector_bytes"]
    assert commits.describe(append).startswith("commits append: library 2,000 vectors")
