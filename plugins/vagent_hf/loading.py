"""Loading transformers models from the cache, a local folder or the hub, offline-aware.

Offline (``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE`` set, or huggingface.co does not resolve),
hub ids load only from the local hub cache, so a missing model fails at once with
``ModelUnavailable`` instead of retrying the network for a minute.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from vagent.errors import ModelUnavailable

SMOLLM2_SPECS = (None, "", "smollm2")


def pick_device(device: str | None) -> tuple[str, Any]:
    """``(device, dtype)``: CUDA in bf16 when present (or asked for), else CPU in fp32."""
    import torch

    dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if dev.startswith("cuda") else torch.float32
    return dev, dtype


def offline() -> bool:
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return True
    try:
        socket.getaddrinfo("huggingface.co", 443)
    except OSError:
        return True
    return False


def source(spec: str) -> tuple[str, bool]:
    """``(where to load from, local_files_only)`` for a hub id or a local folder."""
    local = Path(spec).expanduser()
    if local.is_dir():
        return str(local), True
    return spec, offline()


def unavailable(kind: str, spec: str, exc: BaseException, tiny: str | None = None) -> str:
    first = str(exc).split(". ")[0].splitlines()[0] if str(exc) else ""
    why = f"{type(exc).__name__}: {first}"[:160]
    alt = f" (or {kind}/{tiny} for a non-semantic plumbing test)" if tiny else ""
    return (
        f"{kind}: cannot load model '{spec}' ({why}). Offline? Download it where there is a "
        f"network (huggingface-cli download {spec} --local-dir DIR) and pass the folder: "
        f"{kind}/PATH/TO/DIR{alt}"
    )


def quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one bar per load is noise inside our own output


def load_causal_lm(spec: str | None, device: str, dtype: Any) -> tuple[Any, Any, str]:
    """``(model, tokenizer, model id)`` for ``hf-text``: the packaged SmolLM2 by default."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from vagent_hf.cache import SMOLLM2_ID, ensure_smollm2

    quiet_transformers()
    if spec in SMOLLM2_SPECS:
        folder = ensure_smollm2()
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        model: Any = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype)
        return model.to(device).eval(), tokenizer, SMOLLM2_ID
    assert spec is not None
    where, local_only = source(spec)
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=local_only)
        model = AutoModelForCausalLM.from_pretrained(
            where, dtype=dtype, local_files_only=local_only
        )
    except Exception as exc:
        raise ModelUnavailable(unavailable("hf-text", spec, exc)) from None
    return model.to(device).eval(), tokenizer, spec


def load_vlm(spec: str, device: str, dtype: Any) -> tuple[Any, Any, str]:
    """``(model, processor, model id)`` for any image-text-to-text model."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from vagent_hf.tiny import TINY_SMOLVLM, build_tiny_smolvlm

    quiet_transformers()
    model: Any
    if spec == TINY_SMOLVLM:
        model, processor = build_tiny_smolvlm(dtype)
        return model.to(device).eval(), processor, f"hf-vlm/{TINY_SMOLVLM}"
    where, local_only = source(spec)
    try:
        processor = AutoProcessor.from_pretrained(where, local_files_only=local_only)
        model = AutoModelForImageTextToText.from_pretrained(
            where, dtype=dtype, local_files_only=local_only
        )
    except Exception as exc:
        raise ModelUnavailable(unavailable("hf-vlm", spec, exc, tiny=TINY_SMOLVLM)) from None
    return model.to(device).eval(), processor, spec
