"""Which answerer and planner an agent gets when the user names none, and why (for the trace)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from vagent.plugins import Registry

DEFAULT_VLM = "HuggingFaceTB/SmolVLM2-2.2B-Instruct"


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
    found = try_to_load_from_cache(model, "config.json")
    return isinstance(found, str)


def default_answerer(reg: Registry) -> tuple[str, str]:
    """(answerer id, the reason it was picked): ``hf-vlm`` when a GPU and its model's weights
    are here (model from ``$VAGENT_VLM``, default SmolVLM2), else ``hf-text`` (the packaged
    SmolLM2), else the first answerer registered."""
    names = reg.names("answerer")
    model = os.environ.get("VAGENT_VLM", DEFAULT_VLM)
    why = []
    if "hf-vlm" in names:
        gpu = gpu_available()
        have = weights_present(model)
        if gpu and have:
            return f"hf-vlm/{model}", f"a GPU and the weights of {model} are here"
        why.append("no GPU" if not gpu else f"no local weights for {model}")
    if "hf-text" in names:
        return "hf-text", ", ".join([*why, "hf-text reads the text evidence with SmolLM2"])
    if not names:
        from vagent.errors import UnknownComponent

        raise UnknownComponent("no answerer plugin is installed; `vagent plugins` lists plugins")
    return names[0], "the only answerers installed: " + ", ".join(names)


def default_planner(reg: Registry) -> str:
    """``rules`` where installed. Measured (`vagent bench needle --planner`, 0.1 h, 12 needle
    questions, hf-text): rules answered 0.50 and cited 1.00 with a plan p50 of 0 ms; llm
    answered 0.58 (one question more) and cited 1.00 with a plan p50 of 58 s on this shared
    2-core CPU (3 s on one thread), its added queries mostly fragments of the question. So
    the LLM plan stays one flag away (``--planner llm``), not the default."""
    names = reg.names("planner")
    for name in ("rules", "llm"):
        if name in names:
            return name
    from vagent.errors import UnknownComponent

    raise UnknownComponent("no planner plugin is installed; `vagent plugins` lists plugins")
