"""The ``Fingerprint`` (``vagent.kv.fingerprint``) of the caches a transformers model makes:
its id and revision (the hub commit, else a digest of the loaded weights), a hash of its
config, its compute dtype, the prompt template and the prefill mode."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import torch

from vagent.kv.fingerprint import Fingerprint, sha256_hex, template_hash

# Elements hashed from the head and the tail of every parameter tensor (the weights digest).
SAMPLE = 4096


def config_hash(config: Any) -> str:
    """Hash of the config's settings, leaving out names, dtype and library versions."""
    data = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    skip = {"transformers_version", "dtype", "torch_dtype", "name_or_path", "architectures"}
    clean = {k: v for k, v in data.items() if not k.startswith("_") and k not in skip}
    return sha256_hex(json.dumps(clean, sort_keys=True, default=str).encode())[:16]


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
