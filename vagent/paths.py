"""Where libraries live: ``--library NAME`` resolves under ``$VAGENT_HOME`` (default ``./indexes``);
anything that looks like a path (has a separator, starts with ``.`` or ``~``) is used as one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CATALOG_FILE = "catalog.db"


def home() -> Path:
    return Path(os.environ.get("VAGENT_HOME") or "indexes").expanduser()


@dataclass(frozen=True)
class LibraryLocation:
    """``root``: the folder holding vector files (and the SQLite catalog unless ``db`` is set)."""

    name: str
    root: Path
    db_url: str

    @property
    def catalog_path(self) -> Path:
        return self.root / CATALOG_FILE


def resolve(library: str | os.PathLike[str], db: str | None = None) -> LibraryLocation:
    text = os.fspath(library)
    if not text.strip():
        raise ValueError("library name is empty")
    looks_like_path = os.sep in text or text.startswith((".", "~")) or Path(text).is_absolute()
    root = Path(text).expanduser() if looks_like_path else home() / text
    root = root.resolve()
    url = db or f"sqlite:///{root / CATALOG_FILE}"
    return LibraryLocation(name=root.name, root=root, db_url=url)
