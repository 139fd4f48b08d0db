"""Errors of KV-cache reuse. Each names the segment or setting and says what to do next."""

from __future__ import annotations

from vagent.errors import VagentError


class KvError(VagentError):
    """A stored KV cache cannot be used; the caller falls back to frames for that segment."""


class KvMissing(KvError):
    """No cache is stored under this key (for this fingerprint)."""


class KvCorrupt(KvError):
    """A stored cache file is truncated, unreadable or fails its checksum.

    ``key`` is the segment's key, ``path`` the file and ``reason`` what was wrong with it.
    """

    def __init__(self, key: str, path: str, reason: str) -> None:
        super().__init__(
            f"KV cache of segment {key} at {path} is unusable ({reason}); answering from frames "
            "for it; rebuild it with `vagent kv build`"
        )
        self.key = key
        self.path = path
        self.reason = reason


class KvMismatch(KvError):
    """A cache was made by another model, revision, dtype, prompt template or prefill mode."""


class UnsupportedRope(KvError):
    """The model's rotary embedding cannot be shifted exactly to new positions."""
