"""A catalog video's bytes over HTTP with ``Range`` requests (RFC 9110), so a browser can seek.

One range per request: ``bytes=A-B``, ``bytes=A-`` and the suffix ``bytes=-N`` answer 206 with
``Content-Range``; a first byte past the end answers 416 (``Content-Range: bytes */SIZE``); a
header that is not a single byte range (several ranges, other units, garbage) is ignored, as
the RFC allows, and the whole file comes back with 200.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from pathlib import Path

CHUNK = 256 * 1024
_ONE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class Unsatisfiable(Exception):
    """The range starts at or past the end of the file (or asks for an empty suffix)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` inclusive byte positions for ``header`` on a file of ``size`` bytes;
    None for the whole file (no header, or one that is not a single byte range). Raises
    :class:`Unsatisfiable`."""
    if not header:
        return None
    m = _ONE.match(header)
    if m is None or (not m.group(1) and not m.group(2)):
        return None
    first_s, last_s = m.group(1), m.group(2)
    if not first_s:  # suffix: the last N bytes
        n = int(last_s)
        if n == 0 or size == 0:
            raise Unsatisfiable
        return max(size - n, 0), size - 1
    first = int(first_s)
    last = int(last_s) if last_s else size - 1
    if last_s and last < first:
        return None  # invalid range-spec: ignore the header
    if first >= size:
        raise Unsatisfiable
    return first, min(last, size - 1)


def content_type(path: Path) -> str:
    kind, _ = mimetypes.guess_type(path.name)
    if kind is None and path.suffix.lower() == ".mkv":
        kind = "video/x-matroska"
    return kind or "application/octet-stream"


def read_bytes(path: Path, first: int, last: int) -> Iterator[bytes]:
    """The bytes ``first..last`` (inclusive) of ``path`` in chunks of at most ``CHUNK``."""
    left = last - first + 1
    with path.open("rb") as fh:
        fh.seek(first)
        while left > 0:
            block = fh.read(min(CHUNK, left))
            if not block:
                return
            left -= len(block)
            yield block
