"""Zero-shot multiple choice with a CLIP-style encoder.

For frames ``F`` (n, d) and options ``O`` (m, d), both L2-normalised, an option's logit is
``LOGIT_SCALE * max_f (F @ O.T)[f, option]`` (the frame that shows it best), and the option
probabilities are their softmax. The chosen option's best frame decides which evidence is
cited. Open questions are refused: there is nothing to score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vagent.components import Answerer, VisualEncoder
from vagent.errors import VagentError
from vagent.types import Draft, Question

LOGIT_SCALE = 100.0  # CLIP's learned temperature, to the order of magnitude


class ClipChoice(Answerer):
    id = "clip-choice"
    wants_frames = True
    max_frames = 32

    def __init__(self, encoder: VisualEncoder | None) -> None:
        if encoder is None:
            raise VagentError("clip-choice needs the library's visual encoder")
        self.encoder = encoder
        self.embedding_space = encoder.embedding_space
        self.semantic = encoder.semantic

    def answer(self, questions: Sequence[Question]) -> list[Draft]:
        return [self._one(q) for q in questions]

    def _one(self, q: Question) -> Draft:
        if not q.options:
            raise VagentError(
                "clip-choice answers multiple-choice questions only: give --options, or use "
                "--answerer hf-text"
            )
        m = len(q.options)
        frames, owner = [], []
        for i, e in enumerate(q.evidence):
            if e.frames is not None and len(e.frames):
                frames.append(e.frames)
                owner += [i] * len(e.frames)
        meta = {"model": self.encoder.id, "semantic": self.semantic, "frames": len(owner)}
        if not frames:
            return Draft(
                f"A) {q.options[0]}", 0, 1.0 / m, [1.0 / m] * m, [], {**meta, "no_frames": True}
            )
        fv = np.concatenate([self.encoder.encode_images(c) for c in frames])
        ov = self.encoder.encode_texts(list(q.options))
        sims = fv @ ov.T  # (frames, options)
        logits = LOGIT_SCALE * sims.max(axis=0)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        choice = int(p.argmax())
        best_frame = int(sims[:, choice].argmax())
        letter = chr(ord("A") + choice)
        return Draft(
            f"{letter}) {q.options[choice]}",
            choice,
            float(p[choice]),
            [round(float(x), 6) for x in p],
            [owner[best_frame]],
            meta,
        )
