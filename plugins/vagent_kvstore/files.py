"""The store's file layout, read without a tensor library: names, header, format tag, and the
check of one file against the catalog's record of it.

A cache is ``<root>/kv/<key>.<fingerprint key>.safetensors``: an 8-byte little-endian header
length, a JSON header (the ``kv`` tensor's dtype, shape and byte range; ``__metadata__`` with the
format tag, key, fingerprint, positions and the sha256 of the tensor's bytes), then the raw
tensor bytes. A write goes to ``.<name>.<8 hex>.tmp`` first, then is renamed.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from pathlib import Path
from typing import BinaryIO

from vagent.components import KvRecord, KvStatus

FORMAT = "vagent-kv/1"  # what each file's metadata says it is
SUFFIX = ".safetensors"
FOLDER = "kv"  # under the library's folder
MAX_HEADER = 16 * 2**20
CHUNK = 4 * 2**20
SLACK_S = 0.5  # file times vs the row's: clock granularity between the write and the commit
_NAME = re.compile(r"([A-Za-z0-9_-]{1,128})\.([A-Za-z0-9_-]{1,128})\.safetensors")
_TEMP = re.compile(r"\.(.+)\.[0-9a-f]{8}\.tmp")


def is_cache_name(name: str) -> bool:
    """Whether ``name`` is one the store writes (``<key>.<fingerprint>.safetensors``): a record
    naming anything else (``../x``, a path) never has a file opened or deleted."""
    return _NAME.fullmatch(name) is not None


def parts(name: str) -> tuple[str, str]:
    """(key, fingerprint key) a file name holds, a temporary one's included; ("", "") when it
    names none."""
    temp = _TEMP.fullmatch(name)
    m = _NAME.fullmatch(temp.group(1) if temp else name)
    return (m.group(1), m.group(2)) if m else ("", "")


def file_key(name: str) -> str:
    """The segment key a cache file holds ("" for a name the store does not write)."""
    return parts(name)[0]


def is_held(path: Path) -> bool:
    """Whether a file in the folder is the store's: a cache, or a temporary of a write."""
    return path.name.endswith((".tmp", SUFFIX)) and path.is_file()


def tensor_range(fh: BinaryIO, size: int) -> tuple[int, int, dict[str, str]]:
    """Byte range of the ``kv`` tensor and the file's metadata; ValueError when malformed."""
    head = fh.read(8)
    if len(head) < 8:
        raise ValueError("shorter than a safetensors header")
    (n,) = struct.unpack("<Q", head)
    if n > MAX_HEADER or 8 + n > size:
        raise ValueError(f"header of {n} bytes does not fit the file")
    header = json.loads(fh.read(n))
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    meta = header.get("__metadata__") or {}
    kv = header.get("kv")
    if not isinstance(kv, dict) or not isinstance(meta, dict):
        raise ValueError("no 'kv' tensor")
    begin, end = (int(x) for x in kv["data_offsets"])
    if not 0 <= begin <= end or 8 + n + end != size:
        raise ValueError(f"tensor bytes {begin}..{end} do not match the file's size")
    return 8 + n + begin, 8 + n + end, {str(k): str(v) for k, v in meta.items()}


def _fingerprint_key(meta: dict[str, str]) -> str:
    from vagent.kv.fingerprint import Fingerprint

    return Fingerprint.from_json(meta["fingerprint"]).key


def _changed_since(mtime: float, record: KvRecord) -> bool:
    """Whether the file was written after its record (the store writes the file first):
    someone else wrote it. An unknown time counts as changed."""
    if record.recorded_at is None:
        return True
    return mtime > record.recorded_at + SLACK_S


def check(folder: Path, record: KvRecord, *, full: bool = True) -> KvStatus:
    """What is wrong with ``record``'s file under ``folder``, if anything.

    ``full``: hash every file's tensor bytes. Otherwise files are checked by size, header and
    the header's sha256, and hashed only when written after their record (edited in place, or
    copied without times): a bit flipped on disk without a write goes unseen until a full
    check (about 300 MiB/s on one core)."""
    name = record.file

    def status(state: str, reason: str = "", size: int = 0) -> KvStatus:
        return KvStatus(name, record.key, record.fingerprint, state, reason, size,
                        f"{FOLDER}/{name}")  # fmt: skip

    if not is_cache_name(name):
        return status("corrupt", f"names the file {name!r}, not one the KV store writes")
    path = folder / name
    try:
        if path.is_symlink():
            return status("corrupt", "a symbolic link")
        st = path.stat()
    except FileNotFoundError:
        return status("missing", "missing")
    size = st.st_size
    if size != record.bytes:
        return status("corrupt", f"{size} bytes, the catalog recorded {record.bytes}", size)
    try:
        with open(path, "rb") as fh:
            begin, end, meta = tensor_range(fh, size)
            if meta.get("format") != FORMAT:
                return status("corrupt", "not a vagent KV file", size)
            made = _fingerprint_key(meta)
            if made != record.fingerprint:
                why = f"made under fingerprint {made}, the catalog says {record.fingerprint}"
                return status("mismatched", why, size)
            if meta.get("sha256") != record.sha256:
                return status("corrupt", "the sha256 in its header is not the catalog's", size)
            if not full and not _changed_since(st.st_mtime, record):
                return status("ok", "", size)
            fh.seek(begin)
            digest = hashlib.sha256()
            left = end - begin
            while left > 0:
                chunk = fh.read(min(CHUNK, left))
                if not chunk:
                    return status("corrupt", "ends early", size)
                digest.update(chunk)
                left -= len(chunk)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return status("corrupt", f"unreadable ({type(exc).__name__}: {exc})", size)
    got = digest.hexdigest()
    if got != record.sha256:
        why = f"sha256 of its bytes {got[:12]} != the catalog's {record.sha256[:12]}"
        return status("corrupt", why, size)
    return status("ok", "", size)
