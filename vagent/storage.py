"""Recognising a full disk (or a failed write) in whatever shape it arrives: an ``OSError``, a
FAISS ``RuntimeError`` quoting ``strerror``, or SQLite's "database or disk is full" /
"disk I/O error" through SQLAlchemy."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_FULL_WORDS = ("No space left on device", "Disk quota exceeded", "File too large")
_SQLITE_WORDS = ("database or disk is full", "disk I/O error")
# Below this much free space a failed write is taken to be a full disk.
LOW_SPACE = 1 << 20


def free_bytes(path: Path) -> int | None:
    """Bytes free to this user on the filesystem holding ``path`` (or its nearest parent)."""
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        st = os.statvfs(p)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def storage_problem(exc: BaseException) -> str | None:
    """What went wrong, in a few words, if ``exc`` is a failed write to storage; else None."""
    if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or os.strerror(exc.errno or 0)}"
    text = str(exc)
    for words in _FULL_WORDS:
        if words in text:
            m = re.search(r"write error in (\S+?):", text)
            return f"{m.group(1)}: {words}" if m else words
    orig = getattr(exc, "orig", None)  # SQLAlchemy's wrapper around the DB-API error
    detail = str(orig if orig is not None else exc)
    if type(orig if orig is not None else exc).__name__ == "OperationalError":
        for words in _SQLITE_WORDS:
            if words in detail:
                return f"catalog: {words}"
    return None


def describe(exc: BaseException, root: Path) -> str | None:
    """One line for a storage failure while writing the library at ``root``, or None."""
    what = storage_problem(exc)
    if what is None:
        return None
    free = free_bytes(root)
    full = free is not None and free < LOW_SPACE
    state = "the disk is full" if full else "a write failed"
    return (
        f"{state} under {root} ({what}); free some space and run the same command again "
        f"(what had landed is kept)"
    )
