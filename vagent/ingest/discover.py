"""Expanding the user's paths into video files, and identifying files by content.

Only regular files are ever opened: a FIFO, device or socket would block a reader (or never
end), so it is refused by name before anything reads it, and again, race-free, when it is opened.
File names must be valid UTF-8: the catalog stores names as text, so a name with other bytes is
refused in one line that shows those bytes as ``\\xNN``.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from vagent.errors import BadVideo

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

# Files with sound only, indexed by their speech where a library transcribes speech.
AUDIO_SUFFIXES = frozenset([".mp3", ".wav", ".m4a", ".flac", ".ogg", ".opus", ".aac", ".wma"])

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def printable(path: str | os.PathLike[str]) -> str:
    """``path`` as text safe to print and store: bytes that are not UTF-8 (held by Python as
    surrogate escapes) become ``\\xNN``; a valid name comes back unchanged."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def name_problem(path: str) -> str | None:
    """Why ``path`` cannot be stored in the catalog (a name that is not UTF-8), or None."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return (
            "file name is not valid UTF-8 (the catalog stores names as UTF-8 text); "
            "rename it (e.g. with convmv -f latin1 -t utf8) and index it again"
        )
    return None


def not_regular(mode: int) -> str | None:
    """Why a file of this ``st_mode`` is not read ("not a regular file: a FIFO ..."), or None."""
    if stat.S_ISREG(mode):
        return None
    kind = next((what for test, what in _KINDS if test(mode)), "an unknown kind of file")
    return f"not a regular file: {kind}; only regular files are read"


def discover(paths: list[str], audio: bool = False) -> tuple[list[str], list[tuple[str, str]]]:
    """Files to index (absolute, in order, de-duplicated) and ``(path, reason)`` for bad paths.

    A file named explicitly is taken whatever its suffix (the decoder decides); a directory is
    walked recursively for known video suffixes. Paths that are not regular files, and names
    that are not UTF-8, are bad paths (printable, see ``printable``), never opened.
    ``audio``: directories also yield audio files (a library that transcribes speech).
    """
    suffixes = VIDEO_SUFFIXES | AUDIO_SUFFIXES if audio else VIDEO_SUFFIXES
    found: list[str] = []
    bad: list[tuple[str, str]] = []

    def take(f: Path, mode: int) -> None:
        real = str(f.resolve())
        why = not_regular(mode) or name_problem(real)
        if why:
            bad.append((printable(f), why))
        else:
            found.append(real)

    for raw in paths:
        p = Path(raw).expanduser()
        try:
            mode = p.stat().st_mode
        except FileNotFoundError:
            bad.append((printable(raw), "no such file or directory"))
            continue
        except OSError as exc:
            bad.append((printable(raw), (exc.strerror or str(exc)).lower()))
            continue
        if not stat.S_ISDIR(mode):
            take(p, mode)
            continue
        videos = 0
        for f in sorted(p.rglob("*")):
            if f.suffix.lower() not in suffixes:
                continue
            try:
                fmode = f.stat().st_mode
            except OSError:
                continue  # a broken link
            if stat.S_ISDIR(fmode):
                continue
            videos += 1
            take(f, fmode)
        if not videos:
            bad.append(
                (
                    printable(raw),
                    f"directory has no video files ({', '.join(sorted(VIDEO_SUFFIXES))})"
                    + (f" or audio files ({', '.join(sorted(AUDIO_SUFFIXES))})" if audio else ""),
                )
            )
    seen: set[str] = set()
    unique = [f for f in found if not (f in seen or seen.add(f))]  # type: ignore[func-returns-value]
    return unique, bad


def open_regular(path: str) -> int:
    """A read-only descriptor of ``path``, refusing (BadVideo) anything but a regular file.

    Opened non-blocking, so a FIFO swapped in after discovery cannot hang the run."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except IsADirectoryError:
        raise BadVideo(path, "is a directory") from None
    try:
        why = not_regular(os.fstat(fd).st_mode)
        if why:
            raise BadVideo(path, why)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def content_hash(path: str) -> str:
    """sha256 of the file's bytes: a video's identity, whatever its name or folder."""
    h = hashlib.sha256()
    with os.fdopen(open_regular(path), "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def stat_key(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns
