"""Segment KV caches as safetensors files: ``<root>/kv/<key>.<fingerprint key>.safetensors``.

Each file holds one tensor ``kv`` [layers, 2, kv_heads, tokens, head_dim] (bfloat16, float16 or
float32) and metadata: the full fingerprint, the first position, the token count and the
sha256 of the tensor's bytes. Files are written to a temporary name, fsynced and renamed (a
reader sees the old file or the new one, never half of one), opened with safetensors'
``safe_open`` (memory-mapped) and checked against their sha256 on every load from disk.
The layout itself (names, header, format tag) is ``files``; torch and safetensors are imported
only to write or load a tensor, so ``vagent kv info`` and ``vagent check`` load neither.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from vagent.components import KvBatch, KvItem, KvRecord, KvStatus, KVStore, KvUsage
from vagent.kv.errors import KvCorrupt, KvError, KvMissing
from vagent.kv.fingerprint import Fingerprint
from vagent.kv.packed import DTYPE_NAMES, KvEntry, dtype_name
from vagent_kvstore.files import FOLDER, FORMAT, SUFFIX, check, is_held, parts
from vagent_kvstore.lru import ByteLRU

if TYPE_CHECKING:
    import torch

DEFAULT_BUDGET = 512 * 2**20  # host-memory LRU of loaded caches
_KEY = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def tensor_sha256(t: torch.Tensor) -> str:
    import torch

    return hashlib.sha256(t.contiguous().reshape(-1).view(torch.uint8).numpy().data).hexdigest()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SafetensorsStore(KVStore):
    """``root``: the library folder (files go to ``root/kv``); ``budget_bytes``: LRU budget."""

    id = "safetensors"

    def __init__(self, root: str | os.PathLike[str], budget_bytes: int = DEFAULT_BUDGET) -> None:
        self.dir = Path(root) / FOLDER
        self.cache = ByteLRU(budget_bytes)

    def path(self, key: str, fingerprint: Fingerprint | str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"KV key '{key}': use letters, digits, '_' or '-' (a segment id)")
        fp = fingerprint if isinstance(fingerprint, str) else fingerprint.key
        return self.dir / f"{key}.{fp}{SUFFIX}"

    # ---- writing ---------------------------------------------------------------------------

    def put(self, entries: Sequence[KvEntry], fingerprint: Fingerprint) -> list[KvRecord]:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        records = [self._write(e, fingerprint) for e in entries]
        _fsync_dir(self.dir)
        return records

    def _write(self, entry: KvEntry, fingerprint: Fingerprint) -> KvRecord:
        from safetensors.torch import save

        kv = entry.kv.detach().to("cpu").contiguous()
        if dtype_name(kv.dtype) not in DTYPE_NAMES:
            raise ValueError(f"KV of {entry.key}: dtype {kv.dtype} (use {', '.join(DTYPE_NAMES)})")
        path = self.path(entry.key, fingerprint)
        sha = tensor_sha256(kv)
        meta = {
            "format": FORMAT,
            "key": entry.key,
            "fingerprint": fingerprint.to_json(),
            "start": str(entry.start),
            "tokens": str(entry.tokens),
            "sha256": sha,
        }
        data = save({"kv": kv}, metadata=meta)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # owner only
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self.cache.discard((fingerprint.key, entry.key))
        return KvRecord(
            key=entry.key,
            fingerprint=fingerprint.key,
            model=fingerprint.model,
            dtype=dtype_name(kv.dtype),
            layers=entry.layers,
            tokens=entry.tokens,
            start=entry.start,
            end=entry.end,
            bytes=len(data),
            sha256=sha,
            file=path.name,
        )

    # ---- reading ---------------------------------------------------------------------------

    def get(
        self,
        keys: Sequence[str],
        fingerprint: Fingerprint,
        checksums: Mapping[str, str] | None = None,
    ) -> KvBatch:
        batch = KvBatch()
        for key in keys:
            try:
                batch.entries[key] = self._get(key, fingerprint, (checksums or {}).get(key))
            except KvError as err:
                batch.failed[key] = err
        return batch

    def _get(self, key: str, fingerprint: Fingerprint, expected: str | None) -> KvEntry:
        hit = self.cache.get((fingerprint.key, key))
        if hit is not None:
            return hit
        path = self.path(key, fingerprint)
        if not path.exists():
            self._missing(key, fingerprint)
        entry = self._load(key, path, fingerprint, expected)
        self.cache.put((fingerprint.key, key), entry)
        return entry

    def _missing(self, key: str, fingerprint: Fingerprint) -> NoReturn:
        from safetensors import safe_open

        others = sorted(self.dir.glob(f"{key}.*{SUFFIX}")) if self.dir.exists() else []
        for other in others:
            try:
                with safe_open(str(other), framework="pt") as f:
                    stored = Fingerprint.from_json((f.metadata() or {})["fingerprint"])
            except Exception:  # unreadable: say nothing about it here
                continue
            fingerprint.check(stored, f"the KV cache of segment {key} ({other.name})")
        raise KvMissing(f"no KV cache of segment {key} for fingerprint {fingerprint.key}")

    def _load(
        self, key: str, path: Path, fingerprint: Fingerprint, expected: str | None
    ) -> KvEntry:
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                if meta.get("format") != FORMAT or meta.get("key") != key:
                    raise KvCorrupt(key, str(path), "not a vagent KV file for this segment")
                stored = Fingerprint.from_json(meta["fingerprint"])
                fingerprint.check(stored, f"the KV cache of segment {key} ({path.name})")
                kv = f.get_tensor("kv")
            start, tokens, sha = int(meta["start"]), int(meta["tokens"]), meta["sha256"]
        except KvError:
            raise
        except Exception as exc:  # truncated, garbled header, missing fields
            raise KvCorrupt(key, str(path), f"{type(exc).__name__}: {exc}") from None
        if kv.dim() != 5 or kv.shape[1] != 2 or kv.shape[3] != tokens:
            raise KvCorrupt(key, str(path), f"tensor of shape {list(kv.shape)}, {tokens} tokens")
        got = tensor_sha256(kv)
        if got != sha:
            raise KvCorrupt(key, str(path), f"sha256 {got[:12]} != recorded {sha[:12]}")
        if expected is not None and got != expected:
            raise KvCorrupt(key, str(path), f"sha256 {got[:12]} != catalog's {expected[:12]}")
        return KvEntry(key, kv, start, fingerprint.key)

    def exists(self, key: str, fingerprint: Fingerprint) -> bool:
        return self.path(key, fingerprint).exists()

    # ---- removing --------------------------------------------------------------------------

    def delete(self, keys: Sequence[str], fingerprint: Fingerprint | str | None = None) -> int:
        gone = 0
        for key in keys:
            paths = (
                [self.path(key, fingerprint)]
                if fingerprint is not None
                else list(self.dir.glob(f"{key}.*{SUFFIX}"))
            )
            for p in paths:
                if p.exists():
                    p.unlink()
                    gone += 1
                self.cache.discard((p.name.split(".")[1], key))
        if gone:
            _fsync_dir(self.dir)
        return gone

    # ---- looking after the folder ----------------------------------------------------------

    def _held(self) -> list[Path]:
        """The store's files (caches and temporaries), none when the folder is a symbolic
        link: nothing outside the library is listed or deleted."""
        if not self.dir.is_dir() or self.dir.is_symlink():
            return []
        return sorted(p for p in self.dir.iterdir() if is_held(p))

    def items(self) -> list[KvItem]:
        out = []
        for p in self._held():
            try:
                size = p.stat().st_size
            except FileNotFoundError:  # removed meanwhile
                continue
            key, fp = parts(p.name)
            out.append(KvItem(p.name, key, fp, size, f"{FOLDER}/{p.name}"))
        return out

    def key_of(self, name: str) -> str:
        return parts(name)[0] if name.endswith(SUFFIX) else ""

    def scan(
        self, records: Sequence[KvRecord], *, full: bool = True, orphans: bool = True
    ) -> list[KvStatus]:
        found = [check(self.dir, r, full=full) for r in records]
        return found + (self.orphans(records, self.items()) if orphans else [])

    def drop(self, names: Sequence[str]) -> KvUsage:
        held = {p.name: p for p in self._held()}
        count = size = 0
        for name in dict.fromkeys(names):
            p = held.get(name)
            if p is None:
                continue
            try:
                n = p.stat().st_size
                p.unlink()
            except FileNotFoundError:
                continue
            count, size = count + 1, size + n
            key, fp = parts(name)
            self.cache.discard((fp, key))
        if count:
            _fsync_dir(self.dir)
        return KvUsage(count, size)

    def size_bytes(self) -> int:
        """Bytes of every file the store holds."""
        return self.usage().bytes
