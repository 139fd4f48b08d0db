"""Answering over a spliced cache: append the question, then decode greedily.

Every step passes explicit ``position_ids`` and the 2-D attention mask (``Spliced.inputs``), so
caches with gaps in their positions decode correctly; ``transformers``' ``generate`` would
derive positions from the cache length instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from vagent_hf.kvengine.prefill import SegmentInput, as_inputs, extend, model_device
from vagent_hf.kvengine.splice import Spliced


@torch.no_grad()
def question_logits(model: Any, spliced: Spliced, question: SegmentInput) -> torch.Tensor:
    """Next-token logits (vocab,) after the question; the cache grows by its tokens."""
    return extend(model, spliced, as_inputs(question, model_device(model)))


@torch.no_grad()
def generate(
    model: Any,
    spliced: Spliced,
    question: SegmentInput,
    max_new_tokens: int = 64,
    eos_token_id: int | Iterable[int] | None = None,
) -> list[int]:
    """Greedy token ids answering ``question`` after the cache (the eos token not included)."""
    stop = {eos_token_id} if isinstance(eos_token_id, int) else set(eos_token_id or ())
    device = model_device(model)
    logits = question_logits(model, spliced, question)
    out: list[int] = []
    for _ in range(max_new_tokens):
        token = int(logits.argmax())
        if token in stop:
            break
        out.append(token)
        if len(out) == max_new_tokens:
            break
        logits = extend(model, spliced, {"input_ids": torch.tensor([[token]], device=device)})
    return out
