"""Reading one library generation: the catalog rows of one snapshot and the vector files of
that snapshot's generation, whatever writers commit meanwhile; the generation before when the
current one's files are damaged (one warning)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from vagent.catalog import Catalog, LibraryRow
from vagent.errors import LibraryNotFound, VagentError, VagentWarning
from vagent.vectors import VectorFilesDamaged, parse_record

T = TypeVar("T")
# Snapshots tried when a writer sweeps the files of the generation just read (it takes two
# commits during one read); each try sees a newer generation.
READ_ATTEMPTS = 8


def read_consistent(
    catalog: Catalog,
    name: str,
    hint: str,
    read: Callable[[LibraryRow], T],
    absent: Callable[[], object] | None = None,
) -> T:
    """Run ``read(row)`` inside one catalog snapshot, ``row`` being library ``name`` as of that
    snapshot, so every row it reads belongs to ``row.generation`` whatever writers commit
    meanwhile. ``read`` loads that generation's vector files; when they are gone (a writer
    moved on twice and swept them) it runs again on a newer snapshot; when they stay gone at
    the same generation they are lost (VectorFilesDamaged naming the file and ``hint``).
    No such library: ``absent()`` (in the snapshot) raises the caller's LibraryNotFound,
    else this one does."""
    gone: tuple[int, str] | None = None
    for _ in range(READ_ATTEMPTS):
        with catalog.snapshot():
            row = catalog.library(name)
            if row is None:
                if absent is not None:
                    absent()
                raise LibraryNotFound(f"library '{name}' was removed from its catalog")
            try:
                try:
                    return read(row)
                except FileNotFoundError as exc:
                    missing = str(getattr(exc, "path", None) or (exc.args[0] if exc.args else exc))
                    if gone != (row.generation, missing):
                        gone = (row.generation, missing)
                        continue
                    if isinstance(exc, VectorFilesDamaged):
                        raise
                    raise VectorFilesDamaged(Path(missing), "vector file missing", hint) from None
            except VectorFilesDamaged as damage:
                return _read_previous(row, read, damage)
    raise VagentError(f"library '{name}': vector files keep changing; try again")


_WARNED: set[tuple[str, int]] = set()


def _read_previous(
    row: LibraryRow, read: Callable[[LibraryRow], T], damage: VectorFilesDamaged
) -> T:
    """Read from the generation before ``row``'s when its files are intact (checksummed), with
    one warning line; else raise ``damage``. The catalog rows are newer than those vectors: a
    video added since has no vectors there, and one removed since is left out of results."""
    previous = (parse_record(row.vector_files) or {}).get("previous") or {}
    files = previous.get("files") or {}
    if (
        previous.get("generation") != row.generation - 1
        or not files
        or not all(f.get("sha256") for f in files.values())
    ):
        raise damage
    older = LibraryRow(**{c.name: getattr(row, c.name) for c in LibraryRow.__table__.columns})
    older.generation = row.generation - 1
    try:
        result = read(older)
    except (VectorFilesDamaged, FileNotFoundError):
        raise damage from None
    key = (str(damage.path), row.generation)
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(
            f"{damage}; meanwhile reading generation {older.generation}, which may miss the "
            f"latest changes",
            VagentWarning,
            stacklevel=2,
        )
    return result
