"""The answerer contract (``vagent.components.Answerer``).

``answer`` returns one ``Draft`` per ``Question``, in order (none for none). A multiple-choice
draft names an option by index, its text starts with that option's letter, its option scores
(where given) are one probability per option summing to 1; confidences are in [0, 1]; ``used``
indexes the evidence. An open question gets a draft without a choice, or (answerers that only
choose among options) a ``VagentError`` refusal, never another exception. Evidence whose frames
are missing is answered around. ``complete`` returns a str or None; ``kv_key`` a key of
letters, digits, ``_`` and ``-``; ``kv_fingerprints`` a list. An answerer that reads KV caches
(``kv_fingerprints`` not empty) is a ``KvAnswerer``: in each prefill mode its ``kv_encoder``
makes caches under a fingerprint it reads, one per segment under its key, in the encoder's
dtype, and they come back unchanged from the default ``kv_store`` (that check loads torch).
"""

from __future__ import annotations

import re
from typing import ClassVar

import numpy as np

from vagent.components import Answerer, KvAnswerer
from vagent.errors import VagentError
from vagent.testing.contracts.base import Contract
from vagent.types import Draft, Evidence, Question

OPTIONS = ["a loaf of bread", "a red car", "three spoons of salt"]


def evidence(frames: bool, seed: int = 0) -> list[Evidence]:
    """Three moments of one video, in time order; with frames (the last one's file missing)."""
    rng = np.random.default_rng(seed)
    texts = [
        "Welcome to the kitchen, today we bake bread",
        "After the break we add three spoons of salt",
        "The oven must reach two hundred degrees",
    ]
    out = []
    for i, text in enumerate(texts):
        e = Evidence(
            "videos/cooking.mp4",
            1,
            10 + i,
            20.0 * i,
            20.0 * i + 10,
            0.9 - 0.2 * i,
            channels=["text"],
            texts=[
                {"source": "subtitle", "start": 20.0 * i + 2, "end": 20.0 * i + 5, "text": text}
            ],
        )
        if frames and i < 2:
            e.frame_times = [20.0 * i + 1, 20.0 * i + 4]
            e.frames = rng.integers(0, 256, (2, 72, 96, 3), dtype=np.uint8)
        elif frames:
            e.missing = True
        out.append(e)
    return out


class AnswererContract(Contract[Answerer]):
    """Subclass and define ``make(self) -> Answerer``."""

    kind: ClassVar[str] = "answerer"
    base: ClassVar[type] = Answerer
    reuse: ClassVar[bool] = True

    def answerer(self) -> Answerer:
        a = self.component()
        a.load()
        return a

    def questions(self, a: Answerer) -> list[Question]:
        ev = evidence(a.wants_frames)
        return [
            Question("What do they add after the break?", list(OPTIONS), ev),
            Question("Which one is baked?", ["bread", "salt"], ev[:1]),
        ]

    def _draft(self, d: object, q: Question, what: str) -> Draft:
        self.expect(isinstance(d, Draft), f"{what}: {type(d).__name__}, not a Draft")
        assert isinstance(d, Draft)
        self.expect(isinstance(d.text, str), f"{what}: text {d.text!r}")
        c = d.confidence
        self.expect(c is None or 0.0 <= c <= 1.0, f"{what}: confidence {c!r}")
        self.expect(
            all(isinstance(i, int) and 0 <= i < len(q.evidence) for i in d.used),
            f"{what}: used {d.used} for {len(q.evidence)} pieces of evidence",
        )
        self.expect(isinstance(d.meta, dict), f"{what}: meta {d.meta!r}")
        return d

    def test_describes_itself(self) -> None:
        a = self.answerer()
        self.expect(isinstance(a.id, str) and a.id, f"id {a.id!r}")
        self.expect(isinstance(a.wants_frames, bool), f"wants_frames {a.wants_frames!r}")
        self.expect(
            isinstance(a.max_frames, int) and a.max_frames > 0, f"max_frames {a.max_frames}"
        )
        self.expect(isinstance(a.semantic, bool), f"semantic {a.semantic!r}")

    def test_one_draft_per_question_in_order(self) -> None:
        a = self.answerer()
        self.expect(a.answer([]) == [], "drafts for no questions")
        qs = self.questions(a)
        drafts = a.answer(qs)
        self.expect(isinstance(drafts, list) and len(drafts) == 2, f"{drafts!r} for 2 questions")
        for n, (q, d) in enumerate(zip(qs, drafts)):
            what = f"question {n}"
            d = self._draft(d, q, what)
            assert q.options is not None
            m = len(q.options)
            self.expect(
                isinstance(d.choice, int) and 0 <= d.choice < m, f"{what}: choice {d.choice}"
            )
            assert d.choice is not None
            letter = "ABCDEFGH"[d.choice]
            self.expect(
                d.text.startswith(letter), f"{what}: {d.text!r} does not start with {letter}"
            )
            s = d.option_scores
            if s is not None:
                self.expect(len(s) == m, f"{what}: {len(s)} option scores for {m} options")
                self.expect(all(0.0 <= x <= 1.0 for x in s), f"{what}: option scores {s}")
                self.expect(abs(sum(s) - 1.0) < 1e-3, f"{what}: option scores sum to {sum(s)}")
        alone = a.answer(qs[1:])
        self.expect(alone[0].choice == drafts[1].choice, "a question alone and in a batch differ")

    def test_open_question_answered_or_refused(self) -> None:
        a = self.answerer()
        q = Question("What do they add after the break?", None, evidence(a.wants_frames, 1))
        try:
            drafts = a.answer([q])
        except VagentError as exc:
            self.expect(str(exc) and "\n" not in str(exc), f"refusal {exc!r}")
            return
        self.expect(isinstance(drafts, list) and len(drafts) == 1, f"{drafts!r} for 1 question")
        d = self._draft(drafts[0], q, "an open question")
        self.expect(d.choice is None and d.option_scores is None, f"a choice on an open one: {d}")

    def test_no_evidence_and_missing_frames(self) -> None:
        a = self.answerer()
        for q in (
            Question("Which one is baked?", ["bread", "salt"], []),
            Question("Which one is baked?", ["bread", "salt"], evidence(a.wants_frames)[2:]),
        ):
            drafts = a.answer([q])
            self.expect(len(drafts) == 1, f"{drafts!r} for 1 question")
            self._draft(drafts[0], q, f"{len(q.evidence)} pieces of evidence")

    def test_complete_and_kv_hooks(self) -> None:
        a = self.answerer()
        text = a.complete("Say hello.", 4)
        self.expect(text is None or isinstance(text, str), f"complete() returned {text!r}")
        self.expect(isinstance(a.kv_fingerprints(), list), "kv_fingerprints() is not a list")
        for e in evidence(False):
            key = a.kv_key(e)
            self.expect(
                isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_-]+", key), f"kv_key {key!r}"
            )

    def test_kv_capable_encoder_round_trips_through_the_store(self) -> None:
        from vagent.kv.encoder import KvEncoder
        from vagent.kv.fingerprint import DEFAULT_WINDOW
        from vagent.kv.packed import dtype_name
        from vagent.kv.store import store_of

        a = self.answerer()
        reads = {f.key for f in a.kv_fingerprints()}
        if not reads:
            self.skip(f"{a.id} reads no KV caches")
        self.expect(isinstance(a, KvAnswerer), "kv_fingerprints but no kv_encoder")
        assert isinstance(a, KvAnswerer)
        ev = evidence(False)
        keys = [a.kv_key(e) for e in ev]
        store = store_of(self.tmp_path)
        for mode, window in (("stream", DEFAULT_WINDOW), ("independent", None)):
            enc = a.kv_encoder(mode, window)
            what = f"{mode} encoder"
            self.expect(isinstance(enc, KvEncoder), f"{what}: {type(enc).__name__}")
            self.expect(enc.fingerprint.key in reads, f"{what}: a fingerprint it does not read")
            made = list(enc.encode(ev, keys))
            self.expect([e.key for e in made] == keys, f"{what}: keys {[e.key for e in made]}")
            for e in made:
                self.expect(e.tokens > 0, f"{what}: {e.key} has no tokens")
                got_dtype = dtype_name(e.kv.dtype)
                self.expect(got_dtype == enc.dtype, f"{what}: {e.key} in {got_dtype}")
            records = store.put(made, enc.fingerprint)
            back = store.get(keys, enc.fingerprint, {r.key: r.sha256 for r in records})
            self.expect(not back.failed, f"{what}: the store refused {back.failed}")
            for e in made:
                b = back.entries.get(e.key)
                self.expect(
                    b is not None and b.start == e.start and bool((b.kv == e.kv).all()),
                    f"{what}: {e.key} came back changed",
                )
