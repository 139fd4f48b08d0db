"""Random-weight Llama-family language models asked for by name (tests and throughput benches).

Their outputs mean nothing; their shapes are real, so cache sizes and compute are too.
``random_lm("smollm2-135m")`` has SmolLM2-135M's shape (30 layers, 9 query and 3 KV heads of 64).
"""

from __future__ import annotations

from typing import Any

import torch

SHAPES: dict[str, dict[str, Any]] = {
    # two layers, grouped-query attention: the unit tests' model
    "llama-tiny": dict(
        vocab_size=256,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=8192,
    ),
    # SmolLM2-135M's shape
    "smollm2-135m": dict(
        vocab_size=49152,
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        max_position_embeddings=8192,
        rope_parameters={"rope_type": "default", "rope_theta": 100000.0},
        tie_word_embeddings=True,
    ),
}


def random_lm(
    name: str, seed: int = 0, dtype: torch.dtype = torch.float32, **overrides: Any
) -> Any:
    """A ``LlamaForCausalLM`` of shape ``name`` with weights drawn from ``seed``, in eval mode.

    ``overrides`` replace config fields (``rope_parameters={...}`` to try other rope types).
    The config's ``_name_or_path`` is ``<name>/random/seed<seed>``.
    """
    from transformers import LlamaConfig, LlamaForCausalLM

    if name not in SHAPES:
        raise ValueError(f"random LM shape '{name}': use one of {', '.join(SHAPES)}")
    config = LlamaConfig(**{**SHAPES[name], **overrides})
    config._attn_implementation = "sdpa"
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model: Any = LlamaForCausalLM(config)
    finally:
        torch.random.set_rng_state(state)
    model.config._name_or_path = f"{name}/random/seed{seed}"
    return model.to(dtype).eval()
