"""The judge contract (``vagent.components.Judge``): ``score`` returns a float in [0, 1]
for any answer (empty, long, other scripts), with and without scoring points; ``semantic`` is a
bool; the reference itself scores at least as well as an unrelated answer, and a semantic judge
gives it more."""

from __future__ import annotations

from typing import ClassVar

from vagent.components import Judge
from vagent.testing.contracts.base import Contract

CASES = [
    ("What is baked?", "They bake bread.", "They bake bread."),
    ("What is baked?", "They bake bread.", "bread"),
    ("What is baked?", "They bake bread.", ""),
    ("What is baked?", "They bake bread.", "A cat sleeps on a sofa. " * 200),
    ("Wer spricht?", "Marie Curie spricht über Radium.", "Curie — 放射能"),
    ("", "", ""),
]


class JudgeContract(Contract[Judge]):
    """Subclass and define ``make(self) -> Judge``."""

    kind: ClassVar[str] = "judge"
    base: ClassVar[type] = Judge
    reuse: ClassVar[bool] = True

    def test_scores_are_floats_in_zero_to_one(self) -> None:
        judge = self.component()
        self.expect(isinstance(judge.id, str) and judge.id, f"id {judge.id!r}")
        self.expect(isinstance(judge.semantic, bool), f"semantic {judge.semantic!r}")
        points = ["names the bread", "says it is baked"]
        for question, reference, answer in CASES:
            for s in (
                judge.score(question, reference, answer),
                judge.score(question, reference, answer, scoring_points=points),
            ):
                self.expect(
                    isinstance(s, float) and 0.0 <= s <= 1.0,
                    f"score {s!r} for answer {answer[:40]!r}",
                )

    def test_the_reference_beats_an_unrelated_answer(self) -> None:
        judge = self.component()
        q, ref = "What does the chef add after the break?", "Three spoons of salt."
        right, wrong = judge.score(q, ref, ref), judge.score(q, ref, "A red car drives away.")
        self.expect(right >= wrong, f"the reference scores {right}, an unrelated answer {wrong}")
        if judge.semantic:
            self.expect(right > wrong, f"the reference and an unrelated answer both score {right}")
