"""The key a stored KV cache is made under: a cache is only ever used with the same model
(id and revision, or config and weights), compute dtype, prompt template and prefill mode."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

import torch

from vagent.kv.errors import KvMismatch

# Elements hashed from the head and the tail of every parameter tensor (the weights digest).
SAMPLE = 4096
FIELDS = ("model", "revision", "config", "dtype", "template", "prefill")


def _sha(data: bytes) -> str:
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
        return _sha(self.to_json().encode())[:16]

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


def config_hash(config: Any) -> str:
    """Hash of the config's settings, leaving out names, dtype and library versions."""
    data = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    skip = {"transformers_version", "dtype", "torch_dtype", "name_or_path", "architectures"}
    clean = {k: v for k, v in data.items() if not k.startswith("_") and k not in skip}
    return _sha(json.dumps(clean, sort_keys=True, default=str).encode())[:16]


def weights_digest(model: Any) -> str:
    """A digest of the loaded weights: every parameter's name, shape, dtype and its first and
    last ``SAMPLE`` elements (tells apart checkpoints, quantisations and random seeds)."""
    h = hashlib.sha256()
    with torch.no_grad():
        for name, p in model.named_parameters():
            flat = p.detach().reshape(-1)
            if flat.numel() > 2 * SAMPLE:
                flat = torch.cat((flat[:SAMPLE], flat[-SAMPLE:]))
            h.update(f"{name}:{list(p.shape)}:{p.dtype}".encode())
            h.update(flat.to("cpu", torch.float32).numpy().tobytes())
    return h.hexdigest()[:16]


def template_hash(template: str) -> str:
    return _sha(template.encode())[:16]


def fingerprint_of(
    model: Any,
    template: str,
    prefill: str,
    *,
    model_id: str | None = None,
    revision: str | None = None,
) -> Fingerprint:
    """The fingerprint of caches ``model`` makes with prompt ``template`` in mode ``prefill``.

    ``model_id`` defaults to the config's name or path; ``revision`` to the hub commit the
    config came from, else a digest of the loaded weights.
    """
    config = model.config
    mid = model_id or str(getattr(config, "_name_or_path", "") or type(model).__name__)
    rev = revision or getattr(config, "_commit_hash", None) or f"weights:{weights_digest(model)}"
    dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
    return Fingerprint(mid, str(rev), config_hash(config), dtype, template_hash(template), prefill)
