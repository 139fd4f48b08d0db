"""Whether the agent should answer with ``hf-vlm`` on this machine rather than the default
answerer: a GPU and the weights of ``$VAGENT_VLM`` (default SmolVLM2-2.2B-Instruct) already
here. Checked without loading a model (the registration's ``suggest``)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

AGENT_VLM = "HuggingFaceTB/SmolVLM2-2.2B-Instruct"


def gpu_available() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def weights_present(model: str) -> bool:
    """True when ``model`` (a local folder or a hub id) can be loaded without a download."""
    if Path(model).expanduser().is_dir():
        return True
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    try:
        found = try_to_load_from_cache(model, "config.json")
    except ValueError:  # not a folder here and not a hub id either (HFValidationError)
        return False
    return isinstance(found, str)


def suggest_vlm() -> tuple[str | None, str]:
    """``("hf-vlm/<model>", why)`` when a GPU and the model's weights are here, else
    ``(None, why not)``."""
    model = os.environ.get("VAGENT_VLM", AGENT_VLM)
    gpu = gpu_available()
    if gpu and weights_present(model):
        return f"hf-vlm/{model}", f"a GPU and the weights of {model} are here"
    return None, "no GPU" if not gpu else f"no local weights for {model}"
