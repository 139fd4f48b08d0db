"""What text and vision-language models share: a backend that turns chat messages into model
inputs, option-letter scoring for multiple choice, and greedy generation with a confidence.

A message is ``(role, parts)``; a part is text or an image ((h, w, 3) uint8 RGB). Text backends
take text parts only; vision-language backends put each image where it stands in the message.
"""

from __future__ import annotations

import logging
import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vagent_hf.evidence import LETTERS

log = logging.getLogger("vagent")

Part = str | np.ndarray
Message = tuple[str, list[Part]]
ANSWER_PREFIX = "Answer:"


@dataclass
class Generated:
    text: str
    confidence: float | None
    prompt_tokens: int
    new_tokens: int


class Backend(ABC):
    """One loaded model and its tokenizer or processor. ``lock`` serialises model calls."""

    def __init__(self, spec: str | None, device: str | None, semantic: bool = True) -> None:
        self.spec = spec
        self.model_id = spec or ""
        self.semantic = semantic
        self.device = device or ""
        self._want_device = device
        self.model: Any = None
        self.tokenizer: Any = None
        self.lock = threading.RLock()
        self._letters: dict[int, list[list[int]]] = {}

    @abstractmethod
    def _load(self, device: str, dtype: Any) -> None:
        """Set ``model``, ``tokenizer`` and ``model_id``."""

    @abstractmethod
    def render(self, messages: Sequence[Message]) -> str:
        """The prompt string for ``messages``, ending where the assistant's reply starts."""

    @abstractmethod
    def encode(self, prompt: str, images: Sequence[np.ndarray]) -> dict[str, Any]:
        """Model inputs (tensors on the model's device) for one prompt and its images."""

    def load(self) -> None:
        with self.lock:
            if self.model is not None:
                return
            from vagent_hf.loading import pick_device

            device, dtype = pick_device(self._want_device)
            self._load(device, dtype)
            self.device = device
            if not self.semantic:
                log.warning(
                    "warning: %s has random weights: its answers and captions are not semantic "
                    "(plumbing tests only)",
                    self.model_id,
                )

    def count(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def stop_ids(self) -> list[int]:
        ids: set[int] = set()
        eos = getattr(self.model.generation_config, "eos_token_id", None)
        ids.update([eos] if isinstance(eos, int) else list(eos or []))
        if self.tokenizer.eos_token_id is not None:
            ids.add(int(self.tokenizer.eos_token_id))
        for tok in ("<end_of_utterance>", "<|im_end|>", "<|eot_id|>", "<end_of_turn>"):
            tid = self.tokenizer.convert_tokens_to_ids(tok)
            if isinstance(tid, int) and tid != self.tokenizer.unk_token_id:
                ids.add(tid)
        return sorted(ids)

    def letter_ids(self, n: int) -> list[list[int]]:
        """Token ids for option letters A.. (n of them), with and without a leading space:
        whichever spellings are a single token; the better-scored one counts."""
        if n not in self._letters:
            out: list[list[int]] = []
            for letter in LETTERS[:n]:
                ids: list[int] = []
                for spelling in (letter, " " + letter):
                    toks = self.tokenizer(spelling, add_special_tokens=False)["input_ids"]
                    if len(toks) == 1 and toks[0] not in ids:
                        ids.append(int(toks[0]))
                if not ids:  # a tokenizer that splits even single letters: use the first piece
                    ids.append(
                        int(self.tokenizer(letter, add_special_tokens=False)["input_ids"][0])
                    )
                out.append(ids)
            self._letters[n] = out
        return self._letters[n]


def answer_prefix(prompt: str) -> str:
    """What the assistant's turn starts with for multiple choice."""
    return ANSWER_PREFIX if not prompt or prompt[-1].isspace() else " " + ANSWER_PREFIX


def score_letters(backend: Backend, inputs: dict[str, Any], n: int) -> np.ndarray:
    """Probabilities of the ``n`` option letters as the next token (softmax over the letters)."""
    import torch

    with torch.inference_mode():
        logits = backend.model(**inputs).logits[0, -1]
    return letter_probs(backend, logits, n)


def letter_probs(backend: Backend, logits: Any, n: int) -> np.ndarray:
    """Probabilities of the ``n`` option letters given next-token ``logits`` (vocab,)."""
    import torch

    logp = torch.log_softmax(logits.float(), dim=-1).cpu().numpy().astype(np.float64)
    per_letter = np.array([max(logp[i] for i in ids) for ids in backend.letter_ids(n)])
    p = np.exp(per_letter - per_letter.max())
    return np.asarray(p / p.sum())


def score_texts(
    backend: Backend, prompt: str, images: Sequence[np.ndarray], options: Sequence[str]
) -> tuple[np.ndarray, int]:
    """Cloze scoring: each option's text as the continuation of ``prompt``, scored by its
    tokens' summed log-probability per character (lm-eval's ``acc_norm``, so long options are
    not penalised for their length), softmax over the options. Returns the probabilities and
    the prompt's token count. Small models that pick letters at chance still copy text well."""
    import torch

    n_prompt = int(backend.encode(prompt, images)["input_ids"].shape[1])
    scores = []
    for option in options:
        text = " ".join(option.split()) or "?"
        inputs = backend.encode(prompt + " " + text, images)
        ids = inputs["input_ids"][0]
        start = min(n_prompt, len(ids) - 1)
        with torch.inference_mode():
            logits = backend.model(**inputs).logits[0, start - 1 : -1].float()
        logp = torch.log_softmax(logits, dim=-1)
        total = float(logp.gather(1, ids[start:, None].to(logp.device)).sum())
        scores.append(total / len(text))
    s = np.array(scores, dtype=np.float64)
    p = np.exp(s - s.max())
    return np.asarray(p / p.sum()), n_prompt


def generate(backend: Backend, inputs: dict[str, Any], max_new_tokens: int) -> Generated:
    """Greedy decoding; ``confidence`` is the geometric mean of the chosen tokens' probabilities
    (stop tokens excluded; None when nothing was generated)."""
    import torch
    from transformers import GenerationConfig

    stop = backend.stop_ids()
    pad = backend.tokenizer.pad_token_id
    config = GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=False,
        eos_token_id=stop or None,
        pad_token_id=pad if pad is not None else (stop[0] if stop else None),
        output_logits=True,
        return_dict_in_generate=True,
    )
    n_prompt = int(inputs["input_ids"].shape[1])
    with torch.inference_mode():
        out = backend.model.generate(**inputs, generation_config=config)
    new = out.sequences[0, n_prompt:].tolist()
    kept: list[int] = []
    logps: list[float] = []
    for step, tok in enumerate(new):
        if tok in stop:
            break
        row = torch.log_softmax(out.logits[step][0].float(), dim=-1)
        logps.append(float(row[tok]))
        kept.append(int(tok))
    text = backend.tokenizer.decode(kept, skip_special_tokens=True).strip()
    confidence = math.exp(sum(logps) / len(logps)) if logps else None
    return Generated(text, confidence, n_prompt, len(new))
