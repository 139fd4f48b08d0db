"""Subtitle files beside a video (``<stem>.srt``, ``<stem>.en.vtt``): which ones may be read, and
a fingerprint of them all, so that adding, changing or removing one is noticed on the next index.

A sidecar is read only when it resolves inside the video's folder: ``clip.srt -> /etc/passwd``
is refused with one line (its words would otherwise land in the library and in search results).
Only regular files are read (a FIFO would block the reader).
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

SUFFIXES = (".srt", ".vtt")

# The fingerprint of a video with no sidecar files.
NO_SIDECARS = hashlib.sha256(b"").hexdigest()


Listing = dict[str, list[Path]]  # video stem -> the entries of a folder named like its sidecars


def _stems(filename: str) -> list[str]:
    """The video stems ``filename`` is a sidecar of: ``talk.en.srt`` -> talk.en, talk."""
    base, dot, suffix = filename.rpartition(".")
    if not dot or not base or f".{suffix.lower()}" not in SUFFIXES:
        return []
    stems = [base]
    i = base.rfind(".")
    while i > 0:
        if i < len(base) - 1:  # ``talk..srt`` has an empty tag: not talk's
            stems.append(base[:i])
        i = base.rfind(".", 0, i)
    return stems


def list_folder(folder: Path) -> Listing:
    """One pass over ``folder``: its sidecar-named entries by the stem they belong to (so a run
    over a folder of many videos lists it once, not once per video)."""
    out: Listing = {}
    try:
        entries = list(folder.iterdir())
    except OSError:
        return out
    for p in entries:
        for stem in _stems(p.name):
            out.setdefault(stem, []).append(p)
    return out


def sidecar_candidates(video: str | Path, listing: Listing | None = None) -> list[Path]:
    """Entries beside ``video`` named like its subtitles (``<stem>.srt|vtt`` or
    ``<stem>.<tag>.srt|vtt``), sorted; real folders are left out, links are not followed.
    ``listing``: ``list_folder`` of the video's folder, when the caller keeps one."""
    video = Path(video)
    if listing is None:
        listing = list_folder(video.parent)
    out = []
    for p in listing.get(video.stem, []):
        try:
            if stat.S_ISDIR(p.lstat().st_mode):
                continue
        except OSError:
            continue
        out.append(p)
    return sorted(out)


def refusal(sidecar: Path, folder: Path) -> str | None:
    """Why ``sidecar`` is not read (it resolves outside ``folder``, is broken, or is not a
    regular file), or None. ``folder``: the video's folder, resolved."""
    try:
        real = sidecar.resolve(strict=True)
    except (OSError, RuntimeError):
        return "broken link; not read"
    if not real.is_relative_to(folder):
        return f"links to {real}, outside the video's folder; not read"
    try:
        mode = real.stat().st_mode
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if not stat.S_ISREG(mode):
        return "not a regular file; not read"
    return None


def sidecar_files(video: str | Path) -> list[Path]:
    """The sidecars of ``video`` that may be read (see ``refusal``), sorted."""
    folder = Path(video).parent.resolve()
    return [p for p in sidecar_candidates(video) if refusal(p, folder) is None]


def fingerprint(video: str | Path, listing: Listing | None = None) -> str:
    """sha256 over every sidecar candidate's name, size, mtime and link target: changes when
    one is added, removed, edited or re-pointed (refused ones included, so fixing one counts)."""
    h = hashlib.sha256()
    for p in sidecar_candidates(video, listing):
        h.update(os.fsencode(p.name) + b"\0")
        for follow in (False, True):
            try:
                st = p.stat() if follow else p.lstat()
                h.update(f"{st.st_mode}:{st.st_size}:{st.st_mtime_ns}\0".encode())
            except OSError:
                h.update(b"-\0")
        if p.is_symlink():
            try:
                h.update(os.fsencode(os.readlink(p)) + b"\0")
            except OSError:
                h.update(b"-\0")
    return h.hexdigest()
