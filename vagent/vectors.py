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

_NAME = re.compile(r"^(segments|frames|texts)-(\d+)\.faiss(\.tmp)?$")


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
    """The vector indexes of one library (segments, frames, and texts when the library has a
    text track), as of one generation. ``makers`` builds an empty index per kind."""

    def __init__(self, root: Path, makers: dict[str, Callable[[], VectorIndex]]) -> None:
        self.root = root
        self._makers = makers
        self.indexes = {kind: make() for kind, make in makers.items()}
        self.generation = 0

    @property
    def segments(self) -> VectorIndex:
        return self.indexes["segments"]

    @property
    def frames(self) -> VectorIndex:
        return self.indexes["frames"]

    @property
    def texts(self) -> VectorIndex | None:
        return self.indexes.get("texts")

    def load(self, generation: int) -> None:
        """Load generation ``generation`` (0: empty). Raises FileNotFoundError if it is gone."""
        fresh = {kind: make() for kind, make in self._makers.items()}
        if generation > 0:
            for kind, index in fresh.items():
                p = path_for(self.root, kind, generation)
                if not p.exists():
                    raise FileNotFoundError(str(p))
                index.load(str(p))
        self.indexes, self.generation = fresh, generation

    def write(self, generation: int) -> None:
        """Write every index as generation ``generation`` (not yet visible to readers)."""
        self.root.mkdir(parents=True, exist_ok=True)
        for kind, index in self.indexes.items():
            write_atomic(index.save, path_for(self.root, kind, generation))

    def bytes_on_disk(self) -> dict[str, int]:
        sizes = {}
        for kind in self.indexes:
            p = path_for(self.root, kind, self.generation)
            sizes[kind] = p.stat().st_size if p.exists() else 0
        return sizes
