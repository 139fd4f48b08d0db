"""The key a stored KV cache is made under: a cache is only ever used with the same model
(id and revision, or config and weights), compute dtype, prompt template and prefill mode.

The plugin that owns the model fills the fields in (``vagent_hf`` hashes a transformers
model's config and weights); this module only holds and compares them, and names the prefill
modes (``mode_label``). It imports no tensor library.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from vagent.kv.errors import KvMismatch

FIELDS = ("model", "revision", "config", "dtype", "template", "prefill")
MODES = ("stream", "independent")
DEFAULT_WINDOW = 2048  # tokens of earlier segments a stream-mode segment attends to


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    """``model``: model id; ``revision``: hub commit, or ``weights:<digest>`` of the loaded
    weights; ``config``: hash of the model config; ``dtype``: compute dtype; ``template``: hash
    of the prompt template; ``prefill``: how segments were encoded (``stream/w2048``, ...)."""

    model: str
    revision: str
    config: str
    dtype: str
    template: str
    prefill: str

    @property
    def key(self) -> str:
        """16 hex digits naming this fingerprint (in file names and catalog rows)."""
        return sha256_hex(self.to_json().encode())[:16]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Fingerprint:
        data = json.loads(text)
        return cls(**{f: str(data[f]) for f in FIELDS})

    def differences(self, other: Fingerprint) -> list[str]:
        """``field: ours != theirs`` for each field that differs."""
        return [
            f"{f}: {getattr(self, f)} != {getattr(other, f)}"
            for f in FIELDS
            if getattr(self, f) != getattr(other, f)
        ]

    def check(self, stored: Fingerprint, what: str = "the stored KV cache") -> None:
        """Raise ``KvMismatch`` naming what differs when ``stored`` is not this fingerprint."""
        diff = stored.differences(self)
        if diff:
            raise KvMismatch(
                f"{what} was made under another setup ({'; '.join(diff)}; stored != asked): "
                "re-encode with this model, or answer from frames"
            )


def template_hash(template: str) -> str:
    return sha256_hex(template.encode())[:16]


def mode_label(mode: str, window: int | None = DEFAULT_WINDOW) -> str:
    """What the fingerprint records about how the caches were made: ``independent``,
    ``stream/w<window>`` or ``stream/full`` (``window`` None: each segment sees all before it)."""
    if mode not in MODES:
        raise ValueError(f"prefill mode '{mode}': use one of {', '.join(MODES)}")
    if mode == "independent":
        return mode
    return f"stream/w{window}" if window is not None else "stream/full"
