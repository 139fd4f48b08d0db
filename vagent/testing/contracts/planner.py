"""The planner contract (``vagent.components.Planner``): at least one sub-query, each a
non-empty str, for open and multiple-choice questions, with and without earlier turns; the
question, options and history passed in are left as they were."""

from __future__ import annotations

import copy
from typing import ClassVar

from vagent.components import Planner
from vagent.testing.contracts.base import Contract

QUESTIONS = [
    ("What does the chef add after the break?", None),
    ("Which colour is the car?", ["red", "blue", "green"]),
    ("why", None),
    ("Où est la « tour » avant que Marie Curie parle, et pourquoi?", None),
]
HISTORY = [{"question": "What do they bake?", "answer": "Bread."}]


class PlannerContract(Contract[Planner]):
    """Subclass and define ``make(self) -> Planner``."""

    kind: ClassVar[str] = "planner"
    base: ClassVar[type] = Planner
    reuse: ClassVar[bool] = True

    def _queries(self, got: object, what: str) -> None:
        self.expect(isinstance(got, list) and got, f"{what}: {got!r} is not a non-empty list")
        assert isinstance(got, list)
        for q in got:
            self.expect(isinstance(q, str) and q.strip(), f"{what}: query {q!r}")

    def test_at_least_one_query(self) -> None:
        planner = self.component()
        self.expect(isinstance(planner.id, str) and planner.id, f"id {planner.id!r}")
        for question, options in QUESTIONS:
            for history in ([], HISTORY):
                what = f"{question!r} with {len(history)} earlier turns"
                self._queries(planner.plan(question, options, history), what)

    def test_inputs_are_not_changed(self) -> None:
        planner = self.component()
        options, history = ["red", "blue"], copy.deepcopy(HISTORY)
        planner.plan("and what about the blue one then?", options, history)
        self.expect(options == ["red", "blue"] and history == HISTORY, "changed its inputs")
