"""Expanding the user's paths into video files, and identifying files by content."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

VIDEO_SUFFIXES = frozenset(
    [
        ".mp4",
        ".m4v",
        ".mkv",
        ".mov",
        ".avi",
        ".webm",
        ".mpg",
        ".mpeg",
        ".ts",
        ".mts",
        ".m2ts",
        ".wmv",
        ".flv",
        ".3gp",
        ".ogv",
    ]
)


def discover(paths: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Files to index (absolute, in order, de-duplicated) and ``(path, reason)`` for bad paths.

    A file named explicitly is taken whatever its suffix (the decoder decides); a directory is
    walked recursively for known video suffixes.
    """
    found: list[str] = []
    bad: list[tuple[str, str]] = []
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            videos = sorted(
                str(f.resolve())
                for f in p.rglob("*")
                if f.suffix.lower() in VIDEO_SUFFIXES and f.is_file()
            )
            if not videos:
                bad.append(
                    (raw, f"directory has no video files ({', '.join(sorted(VIDEO_SUFFIXES))})")
                )
            found.extend(videos)
        elif p.exists():
            found.append(str(p.resolve()))
        else:
            bad.append((raw, "no such file or directory"))
    seen: set[str] = set()
    unique = [f for f in found if not (f in seen or seen.add(f))]  # type: ignore[func-returns-value]
    return unique, bad


def content_hash(path: str) -> str:
    """sha256 of the file's bytes: a video's identity, whatever its name or folder."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def stat_key(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns
