"""``hf-judge/<local folder or hub id>``: a transformers causal LM grades an open answer.

The model reads one fixed rubric (``RUBRIC``) with the question, the reference answer, the
benchmark's scoring points when it has them, and the answer to grade, and the prompt ends with
``Score:``. The score is read by one rule: of the six tokens ``0`` .. ``5``, the one the model
ranks most likely as its next token is its grade ``d``, and the score is ``d / 5`` (greedy
decoding of a single token restricted to the grades: deterministic, and never unreadable).
Each text is cut to ``MAX_CHARS`` characters first.

A local folder loads offline (``local_files_only``); a hub id loads from the local Hugging Face
cache when offline. ``hf-judge/tiny-random`` is a two-layer Llama with random weights and a
byte-level tokenizer, built in memory for tests: its scores carry no meaning, so it (like any
model saved from it) reports ``semantic = False`` and eval labels its scores.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vagent.components import Judge
from vagent.errors import ModelUnavailable

TINY = "tiny-random"
TINY_SEED = 1234
RANDOM_MARK = "vagent_random_weights"  # a config field: the weights are random
MAX_CHARS = 4000
GRADES = "012345"
RUBRIC = (
    "You grade an answer to a question about a video. Compare the answer with the reference "
    "answer (and the scoring points, if any). Grade 0 if it is wrong or unrelated, 5 if it is "
    "fully correct and complete, in between for partly correct answers. Reply with the grade "
    "only: one digit from 0 to 5."
)


def _cut(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS] + " ..."


def judge_prompt(
    question: str, reference: str, answer: str, scoring_points: Sequence[str] = ()
) -> str:
    """The user message: question, reference, scoring points (if any) and the answer."""
    lines = [f"Question: {_cut(question)}", f"Reference answer: {_cut(reference)}"]
    if scoring_points:
        lines.append("Scoring points:")
        lines += [f"- {_cut(p)}" for p in scoring_points]
    lines.append(f"Answer to grade: {_cut(answer)}")
    return "\n".join(lines)


def _offline() -> bool:
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return True
    try:
        socket.getaddrinfo("huggingface.co", 443)
    except OSError:
        return True
    return False


def tiny_random() -> tuple[Any, Any]:
    """``(model, tokenizer)``: a byte-level tokenizer and a 2-layer Llama, the same weights
    every time (seed ``TINY_SEED``); the config carries ``vagent_random_weights``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {ch: i for i, ch in enumerate(alphabet)}
    vocab["<|endoftext|>"] = len(vocab)
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        eos_token_id=vocab["<|endoftext|>"],
        pad_token_id=vocab["<|endoftext|>"],
    )
    setattr(config, RANDOM_MARK, True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY_SEED)
        model = LlamaForCausalLM(config)
    return model.eval(), tokenizer


def load(spec: str) -> tuple[Any, Any, str]:
    """``(model, tokenizer, model id)`` for ``spec``: ``tiny-random``, a folder or a hub id."""
    if spec == TINY:
        model, tokenizer = tiny_random()
        return model, tokenizer, TINY
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    folder = Path(spec).expanduser()
    where, local_only = (str(folder), True) if folder.is_dir() else (spec, _offline())
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=local_only)
        model = AutoModelForCausalLM.from_pretrained(where, local_files_only=local_only)
    except Exception as exc:
        first = (str(exc).splitlines() or [""])[0][:160]
        raise ModelUnavailable(
            f"hf-judge: cannot load model '{spec}' ({type(exc).__name__}: {first}). Pass a "
            f"local folder (hf-judge/PATH/TO/MODEL), or hf-judge/{TINY} for a non-semantic "
            "plumbing test"
        ) from None
    return model.eval(), tokenizer, spec


class HFJudge(Judge):
    """A causal LM asked ``RUBRIC``; the most likely next grade token ``d`` scores ``d / 5``."""

    def __init__(self, spec: str, device: str | None = None) -> None:
        import torch

        model, self.tokenizer, name = load(spec)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = model.to(self.device)
        self.id = f"hf-judge/{name}"
        self.semantic = not bool(getattr(model.config, RANDOM_MARK, False))
        self.grade_ids = [self._token_ids(d) for d in GRADES]

    def _token_ids(self, digit: str) -> list[int]:
        """The single tokens that spell ``digit`` (bare or after a space)."""
        found = []
        for text in (digit, " " + digit):
            ids = self.tokenizer.encode(text, add_special_tokens=False)
            if len(ids) == 1:
                found.append(int(ids[0]))
        if not found:
            raise ModelUnavailable(f"{self.id}: its tokenizer has no single token for '{digit}'")
        return found

    def prompt(
        self, question: str, reference: str, answer: str, scoring_points: Sequence[str] = ()
    ) -> str:
        """The whole text the model reads, through its chat template when it has one."""
        body = judge_prompt(question, reference, answer, scoring_points)
        if getattr(self.tokenizer, "chat_template", None):
            messages = [
                {"role": "system", "content": RUBRIC},
                {"role": "user", "content": body},
            ]
            text = self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
            return f"{text}Score:"
        return f"{RUBRIC}\n\n{body}\nScore:"

    def grade(
        self, question: str, reference: str, answer: str, scoring_points: Sequence[str] = ()
    ) -> int:
        """The grade 0-5: the grade token the model ranks highest next."""
        import torch

        text = self.prompt(question, reference, answer, scoring_points)
        templated = bool(getattr(self.tokenizer, "chat_template", None))  # has its own BOS
        ids = self.tokenizer(text, return_tensors="pt", add_special_tokens=not templated).input_ids
        with torch.no_grad():
            logits = self.model(ids.to(self.device)).logits[0, -1].float()
        best = [max(float(logits[i]) for i in ids_) for ids_ in self.grade_ids]
        return max(range(len(best)), key=lambda g: (best[g], -g))  # ties: the lower grade

    def score(
        self, question: str, reference: str, answer: str, scoring_points: Sequence[str] = ()
    ) -> float:
        return self.grade(question, reference, answer, scoring_points) / 5.0
