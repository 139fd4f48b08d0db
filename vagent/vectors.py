"""Vector files on disk, versioned by the catalog's ``generation``.

A write makes ``<kind>-<gen>.faiss`` for the next generation (temp file, fsync, rename), and only
then commits the catalog rows together with ``generation = gen``. A reader loads the files of the
committed generation. A writer killed at any point leaves the last committed pair intact; files of
uncommitted generations are removed by the next writer, and the generation before the current one
is kept so a reader that just read the old number still finds its files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from vagent.components import VectorIndex

KINDS = ("segments", "frames")
_NAME = re.compile(r"^(segments|frames)-(\d+)\.faiss(\.tmp)?$")


def path_for(root: Path, kind: str, generation: int) -> Path:
    return root / f"{kind}-{generation}.faiss"


def write_atomic(index_save: Callable[[str], None], target: Path) -> None:
    """Call ``index_save(tmp_path)`` then fsync and rename onto ``target``."""
    tmp = target.with_name(target.name + ".tmp")
    index_save(str(tmp))
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def sweep(root: Path, committed: int) -> list[Path]:
    """Delete vector files not of generation ``committed`` or ``committed - 1``; return them."""
    removed: list[Path] = []
    if not root.exists():
        return removed
    for p in root.iterdir():
        m = _NAME.match(p.name)
        if not m:
            continue
        gen = int(m.group(2))
        if m.group(3) or gen > committed or gen < committed - 1:
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


class VectorSet:
    """The segment and frame indexes of one library, as of one generation."""

    def __init__(self, root: Path, make_index: Callable[[], VectorIndex]) -> None:
        self.root = root
        self._make = make_index
        self.segments = make_index()
        self.frames = make_index()
        self.generation = 0

    def load(self, generation: int) -> None:
        """Load generation ``generation`` (0: empty). Raises FileNotFoundError if it is gone."""
        segments, frames = self._make(), self._make()
        if generation > 0:
            for kind, index in (("segments", segments), ("frames", frames)):
                p = path_for(self.root, kind, generation)
                if not p.exists():
                    raise FileNotFoundError(str(p))
                index.load(str(p))
        self.segments, self.frames, self.generation = segments, frames, generation

    def write(self, generation: int) -> None:
        """Write both indexes as generation ``generation`` (not yet visible to readers)."""
        self.root.mkdir(parents=True, exist_ok=True)
        for kind, index in (("segments", self.segments), ("frames", self.frames)):
            write_atomic(index.save, path_for(self.root, kind, generation))

    def bytes_on_disk(self) -> int:
        total = 0
        for kind in KINDS:
            p = path_for(self.root, kind, self.generation)
            if p.exists():
                total += p.stat().st_size
        return total
