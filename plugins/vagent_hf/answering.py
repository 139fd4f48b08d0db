"""The answer loop ``hf-text`` and ``hf-vlm`` share: multiple choice by option-letter scoring
(or, for small models, by scoring each option's text), open questions by greedy generation,
``complete`` for planners."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from vagent.components import Answerer
from vagent.types import Draft, Question
from vagent_hf.evidence import check_option_count, choice_draft, used_evidence
from vagent_hf.lm import Backend, Message, answer_prefix, generate, score_letters, score_texts

SYSTEM = (
    "You answer questions about videos using only the evidence shown: moments of the videos "
    "with their file names and times, and the words said (subtitle), shown on screen (ocr) or "
    "described (caption) there. Be brief."
)


def history_messages(history: Sequence[dict[str, str]]) -> list[Message]:
    out: list[Message] = []
    for turn in history:
        out.append(("user", [str(turn.get("question", ""))]))
        out.append(("assistant", [str(turn.get("answer", ""))]))
    return out


MC_MODES = ("letters", "cloze")


def check_mc(mc: str) -> str:
    if mc not in MC_MODES:
        raise ValueError(
            f"unknown multiple-choice scoring '{mc}'; use one of {', '.join(MC_MODES)}"
        )
    return mc


class ChatAnswerer(Answerer):
    """Subclasses set ``backend`` and build the messages for a question."""

    backend: Backend
    max_new_tokens: int = 48
    max_prompt_tokens: int = 2048
    mc: str = "letters"  # how multiple choice is scored: "letters" or "cloze"

    @abstractmethod
    def messages(self, q: Question) -> tuple[list[Message], list[int]]:
        """The chat for ``q`` and the evidence indices it shows."""

    def load(self) -> None:
        self.backend.load()

    def answer(self, questions: Sequence[Question]) -> list[Draft]:
        self.load()
        return [self._answer_one(q) for q in questions]

    def complete(self, prompt: str, max_new_tokens: int = 64) -> str | None:
        self.load()
        b = self.backend
        with b.lock:
            inputs = b.encode(b.render([("user", [prompt])]), [])
            return generate(b, inputs, max_new_tokens).text

    def _answer_one(self, q: Question) -> Draft:
        b = self.backend
        with b.lock:
            messages, shown = self.messages(q)
            images = [p for _, parts in messages for p in parts if isinstance(p, np.ndarray)]
            prompt = b.render(messages)
            if q.options is not None:
                return self._choose(q, prompt, images, shown)
            inputs = b.encode(prompt, images)
            gen = generate(b, inputs, self.max_new_tokens)
        return Draft(
            text=gen.text,
            confidence=gen.confidence,
            used=used_evidence(gen.text, q.evidence),
            meta=self._meta(gen.prompt_tokens, gen.new_tokens, shown, len(images)),
        )

    def _choose(
        self, q: Question, prompt: str, images: list[np.ndarray], shown: list[int]
    ) -> Draft:
        options = list(q.options or [])
        check_option_count(self.id, options)
        if self.mc == "cloze":
            probs, n_prompt = score_texts(
                self.backend, prompt + answer_prefix(prompt), images, options
            )
        else:
            inputs = self.backend.encode(prompt + answer_prefix(prompt), images)
            probs = score_letters(self.backend, inputs, len(options))
            n_prompt = int(inputs["input_ids"].shape[1])
        meta = {**self._meta(n_prompt, 0, shown, len(images)), "mc": self.mc}
        return choice_draft(options, probs, q.evidence, meta)

    def _meta(self, prompt_tokens: int, new_tokens: int, shown: list[int], frames: int) -> dict:
        meta: dict[str, Any] = {
            "model": self.backend.model_id,
            "prompt_tokens": prompt_tokens,
            "new_tokens": new_tokens,
            "device": self.backend.device,
            "semantic": self.semantic,
            "evidence_shown": shown,
        }
        if self.wants_frames:
            meta["frames"] = frames
        return meta
