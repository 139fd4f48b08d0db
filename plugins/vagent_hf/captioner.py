"""``hf-vlm`` captioner: one sentence per clip from an image-text-to-text model."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from vagent.components import Captioner
from vagent_hf.lm import Part, generate
from vagent_hf.vlm import DEFAULT_VLM, VLMBackend, is_tiny

PROMPT = "Describe what happens in these frames in one sentence."


def first_sentence(text: str) -> str:
    text = " ".join(text.split())
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    return m.group(1) if m else text


class HFVLMCaptioner(Captioner):
    def __init__(
        self,
        spec: str | None = None,
        device: str | None = None,
        max_frames: int = 8,
        max_new_tokens: int = 40,
    ) -> None:
        self.id = f"hf-vlm/{spec or DEFAULT_VLM}"
        self.semantic = not is_tiny(spec)
        self.backend = VLMBackend(spec, device, semantic=self.semantic)
        self.max_frames = max_frames
        self.max_new_tokens = max_new_tokens

    def load(self) -> None:
        self.backend.load()

    def caption(self, clips: Sequence[np.ndarray]) -> list[str]:
        self.load()
        b = self.backend
        out: list[str] = []
        for clip in clips:
            frames = np.asarray(clip)
            if len(frames) > self.max_frames:
                idx = np.linspace(0, len(frames) - 1, self.max_frames).round().astype(int)
                frames = frames[np.unique(idx)]
            parts: list[Part] = [*list(frames), PROMPT]
            with b.lock:
                inputs = b.encode(b.render([("user", parts)]), list(frames))
                out.append(first_sentence(generate(b, inputs, self.max_new_tokens).text))
        return out
