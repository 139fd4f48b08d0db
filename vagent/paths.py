"""Where libraries live: ``--library NAME`` resolves under ``$VAGENT_HOME`` (default ``./indexes``);
a path (one with a separator, an absolute one, ``.``, ``..`` or ``~``) is used as one. A name that
starts with a dot (``.hidden``) is still a name."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from vagent.errors import BadName

CATALOG_FILE = "catalog.db"
# Longest file name and path most filesystems take (Linux NAME_MAX, PATH_MAX), in bytes.
NAME_MAX = 255
PATH_MAX = 4096


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
        raise BadName("library name is empty")
    _check_name(text)
    seps = {os.sep, os.altsep or os.sep, "/"}
    looks_like_path = (
        any(s in text for s in seps) or text in (".", "..", "~") or Path(text).is_absolute()
    )
    root = Path(text).expanduser() if looks_like_path else home() / text
    root = root.resolve()
    _check_name(str(root))
    _check_folder(root)
    # URL.create escapes what a folder name may hold and a URL may not (? # %)
    url = db or URL.create("sqlite", database=str(root / CATALOG_FILE)).render_as_string(False)
    return LibraryLocation(name=root.name, root=root, db_url=url)


def _check_name(text: str) -> None:
    """Refuse what no folder can be named: a NUL byte, bytes that are not UTF-8 (the catalog
    stores names as text), a part longer than NAME_MAX bytes, a path longer than PATH_MAX."""
    shown = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\0", "\\0")
    if "\0" in text:
        raise BadName(f"library name '{shown}' holds a NUL byte")
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadName(f"library name '{shown}' is not valid UTF-8; rename it") from None
    for part in Path(text).parts:
        n = len(part.encode("utf-8"))
        if n > NAME_MAX:
            raise BadName(
                f"library name '{shown[:40]}...' is {n} bytes long; a folder name may have "
                f"at most {NAME_MAX}"
            )
    if len(encoded) > PATH_MAX:
        raise BadName(f"library path is {len(encoded)} bytes long; at most {PATH_MAX}")


def _check_folder(root: Path) -> None:
    """Refuse a library path that is (or lies under) a file: it can never be a folder."""
    for p in (root, *root.parents):
        try:
            if p.is_dir():
                return
            if p.exists():
                raise BadName(f"library path {root}: {p} is a file, not a folder")
        except OSError:
            return  # unreadable: the command that needs it will say why
