"""``hf-vlm``: any transformers image-text-to-text model answering from the evidence's frames
(and its words). Frames are capped at ``max_frames`` in total, picked evenly, and shrunk to the
processor's size before the processor sees them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vagent.types import Evidence, Question
from vagent_hf.answering import SYSTEM, ChatAnswerer, check_mc, history_messages
from vagent_hf.evidence import clock, evidence_line, fit, question_text, spans_text, video_name
from vagent_hf.lm import Backend, Message, Part
from vagent_hf.tiny import TINY_SMOLVLM

DEFAULT_VLM = "HuggingFaceTB/SmolVLM-256M-Instruct"


def target_side(image_processor: Any) -> tuple[str, int] | None:
    """``("long"|"short", pixels)``: the side the processor resizes, or None when unknown."""
    sides: list[tuple[str, int]] = []
    for attr in ("max_image_size", "size"):
        size: Any = getattr(image_processor, attr, None)
        if size is not None and hasattr(size, "get"):
            for key, kind in (("longest_edge", "long"), ("shortest_edge", "short")):
                if size.get(key):
                    sides.append((kind, int(size[key])))
            if size.get("height") and size.get("width"):
                sides.append(("long", max(int(size["height"]), int(size["width"]))))
    return min(sides, key=lambda s: s[1]) if sides else None


def shrink(image: np.ndarray, side: tuple[str, int] | None) -> Any:
    """A PIL image no larger than the processor will make it (never enlarged)."""
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(image[..., :3]).astype(np.uint8, copy=False))
    if side is None:
        return img
    kind, px = side
    w, h = img.size
    scale = px / (max(w, h) if kind == "long" else min(w, h))
    if scale < 1:
        img = img.resize(
            (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BICUBIC
        )
    return img


def pick_frames(evidence: Sequence[Evidence], max_frames: int) -> dict[int, list[int]]:
    """``{evidence index: frame indices}``, at most ``max_frames`` in all, spread evenly over
    the evidence's frames in time order. Evidence without frames is skipped."""
    flat = [
        (i, j) for i, e in enumerate(evidence) if e.frames is not None for j in range(len(e.frames))
    ]
    if len(flat) > max_frames:
        picks = np.unique(np.linspace(0, len(flat) - 1, max(max_frames, 0)).round().astype(int))
        flat = [flat[k] for k in picks]
    out: dict[int, list[int]] = {}
    for i, j in flat:
        out.setdefault(i, []).append(j)
    return out


def frame_time(e: Evidence, j: int) -> float:
    return float(e.frame_times[j]) if j < len(e.frame_times) else float(e.start)


class VLMBackend(Backend):
    def _load(self, device: str, dtype: Any) -> None:
        from vagent_hf.loading import load_vlm

        self.dtype = dtype
        self.model, self.processor, self.model_id = load_vlm(
            self.spec or DEFAULT_VLM, device, dtype
        )
        self.tokenizer = self.processor.tokenizer
        self._side = target_side(getattr(self.processor, "image_processor", None))

    def render(self, messages: Sequence[Message]) -> str:
        chat = []
        for role, parts in messages:
            content = [
                {"type": "text", "text": p} if isinstance(p, str) else {"type": "image"}
                for p in parts
            ]
            chat.append({"role": role, "content": content})
        text: str = self.processor.apply_chat_template(
            chat, tokenize=False, add_generation_prompt=True
        )
        return text

    def encode(self, prompt: str, images: Sequence[np.ndarray]) -> dict[str, Any]:
        pics = [shrink(img, self._side) for img in images]
        enc = self.processor(
            text=[prompt], images=pics or None, return_tensors="pt", add_special_tokens=False
        )
        out: dict[str, Any] = {}
        for k, v in enc.items():
            if hasattr(v, "to"):
                v = v.to(self.device)
                if v.is_floating_point():
                    v = v.to(self.dtype)
            out[k] = v
        return out


def is_tiny(spec: str | None) -> bool:
    return spec == TINY_SMOLVLM


class HFVLMAnswerer(ChatAnswerer):
    wants_frames = True

    def __init__(
        self,
        spec: str | None = None,
        device: str | None = None,
        max_new_tokens: int = 48,
        max_prompt_tokens: int = 4096,
        max_frames: int = 16,
        mc: str = "letters",
    ) -> None:
        self.id = f"hf-vlm/{spec or DEFAULT_VLM}"
        self.mc = check_mc(mc)
        self.semantic = not is_tiny(spec)
        self.backend = VLMBackend(spec, device, semantic=self.semantic)
        self.max_new_tokens = max_new_tokens
        self.max_prompt_tokens = max_prompt_tokens
        self.max_frames = max_frames

    def messages(self, q: Question) -> tuple[list[Message], list[int]]:
        picks = pick_frames(q.evidence, self.max_frames)
        # Words: the spans of evidence with frames, the whole line of evidence without; under
        # half the prompt budget (frames take the rest), the lowest-scored dropped first.
        texts = [
            spans_text(e) if i in picks else (evidence_line(i, e) if spans_text(e) else "")
            for i, e in enumerate(q.evidence)
        ]
        costs = [self.backend.count(t) + 1 if t else 0 for t in texts]
        scores = [e.score for e in q.evidence]
        kept = {i for i in fit(costs, scores, self.max_prompt_tokens // 2) if texts[i]}
        parts: list[Part] = ["Frames and words from the videos, in time order:\n"]
        shown: list[int] = []
        for i, e in enumerate(q.evidence):
            if i not in picks and i not in kept:
                continue
            shown.append(i)
            if e.frames is not None:
                for j in picks.get(i, []):
                    parts.append(f"{video_name(e.video)} at {clock(frame_time(e, j))}")
                    parts.append(np.asarray(e.frames[j]))
            if i in kept:
                parts.append(texts[i] + "\n")
        parts.append("\n" + question_text(q, self.mc == "letters"))
        chat: list[Message] = [("system", [SYSTEM]), *history_messages(q.history), ("user", parts)]
        return chat, shown
