"""Which library and catalog a folder's vector files belong to.

``library.json`` in the folder names the library, its ``uid`` (whose start tags every vector file
name) and its catalog. It is written with the first vector files; afterwards a write through any
other catalog, or to a library of another name (a renamed folder), is refused with one line
before anything is written, so one catalog can never sweep another's files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from vagent.catalog import Catalog, LibraryRow
from vagent.errors import VagentError
from vagent.paths import CATALOG_FILE, LibraryLocation, home
from vagent.vectors import foreign_files

MARKER = "library.json"


class FolderOwned(VagentError):
    """The folder holds another catalog's library (or another library)."""


def shown_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "a catalog"


def read_marker(root: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((root / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("uid") else None


def write_marker(root: Path, name: str, uid: str, catalog_url: str) -> None:
    """Write ``library.json`` (temp file and rename) unless it already says the same."""
    data = {"library": name, "uid": uid, "catalog": shown_url(catalog_url), "format": 1}
    if read_marker(root) == data:
        return
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / (MARKER + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, root / MARKER)


def _default_url(root: Path) -> str:
    return f"sqlite:///{root / CATALOG_FILE}"


def _same_catalog(url: str, root: Path) -> bool:
    try:
        a, b = make_url(url), make_url(_default_url(root))
    except Exception:
        return False
    if a.drivername.startswith("sqlite") and a.database and b.database:
        return Path(a.database).resolve() == Path(b.database).resolve()
    return False


def check_owner(root: Path, catalog: Catalog, name: str, row: LibraryRow | None) -> None:
    """Refuse, in one line, to write library ``name`` (``row``: its row in ``catalog``, None
    when new) into ``root`` when the folder holds another catalog's or another library's
    files; and a catalog file that is damaged anywhere (``quick_check``)."""
    catalog.quick_check()
    marker = read_marker(root)
    if marker is not None:
        if row is not None and row.uid == marker["uid"]:
            return
        raise FolderOwned(_owned_message(root, name, marker))
    if row is not None:
        return  # a library from before library.json (or one that lost it): its own folder
    local = _same_catalog(catalog.url, root)
    if local:
        with catalog.reading() as s:
            others = [n for n in s.scalars(select(LibraryRow.name)) if n != name]
        if others:
            raise FolderOwned(_owned_message(root, name, {"library": others[0], "catalog": ""}))
    _refuse_foreign(root, local)


def check_new_folder(root: Path, catalog_url: str, name: str) -> None:
    """Before anything is loaded or written for a library its catalog does not hold yet: refuse
    a folder that already holds another library's files (``check_owner`` checks again, with
    the catalog, under the write lock)."""
    marker = read_marker(root)
    if marker is not None:
        raise FolderOwned(_owned_message(root, name, marker))
    _refuse_foreign(root, _same_catalog(catalog_url, root))


def _refuse_foreign(root: Path, local: bool) -> None:
    """Refuse a folder holding another catalog's files: its ``catalog.db`` (unless that is the
    catalog in use, ``local``) or vector files no catalog here names."""
    if not local and (root / CATALOG_FILE).exists():
        raise FolderOwned(
            f"{root} holds a library whose catalog is {root / CATALOG_FILE}; leave out --db to "
            f"use it, or index into another folder"
        )
    files = foreign_files(root, None)
    if files:
        raise FolderOwned(
            f"{root} holds vector files of another catalog ({files[0].name}, ...); open it with "
            f"the --db it was made with, or index into another folder"
        )


def not_here(root: Path, name: str) -> str | None:
    """Why this catalog has no library ``name`` although ``root`` holds one (a renamed folder,
    another catalog's library), in one line; None when the folder holds none."""
    marker = read_marker(root)
    if marker is None:
        return None
    other, where = _marker_names(marker)
    if other != name:
        return (
            f"no library '{name}' here: {root} holds library '{other}'{where} (was the folder "
            f"renamed? rename it back to '{other}')"
        )
    return (
        f"this catalog has no library '{name}': {root} holds library '{other}'{where}; open "
        f"it with that --db"
    )


def _marker_names(marker: dict[str, Any]) -> tuple[Any, str]:
    """The library a marker names and `` of catalog URL`` (empty when it names none)."""
    other = marker.get("library") or "?"
    return other, f" of catalog {marker['catalog']}" if marker.get("catalog") else ""


def _owned_message(root: Path, name: str, marker: dict[str, Any]) -> str:
    other, where = _marker_names(marker)
    if other != name:
        return (
            f"{root} holds library '{other}'{where}, not '{name}' (was the folder renamed? "
            f"rename it back to '{other}'), or index into another folder"
        )
    return (
        f"{root} holds library '{other}'{where}, another catalog than this one: open it with "
        f"that --db, or index into another folder"
    )


def repair_hint(location: LibraryLocation) -> str:
    """The ``vagent repair`` command line for a library."""
    lib = location.name if location.root == (home() / location.name).resolve() else location.root
    db = "" if _same_catalog(location.db_url, location.root) else f" --db {location.db_url}"
    return f"vagent repair --library {lib}{db}"
