"""The example plugin's own tests, as a plugin author writes them: vagent's segmenter contract
suite, run against the plugin's segmenter, built directly and through the plugin host."""

from __future__ import annotations

import numpy as np
import vagent_example_halves
from vagent_example_halves import Halves

from vagent import plugins
from vagent.components import SEGMENTER, Segmenter
from vagent.testing import run_contract
from vagent.testing.contracts.segmenter import SegmenterContract


class TestHalves(SegmenterContract):
    def make(self) -> Segmenter:
        return Halves()


class TestHalvesThroughTheHost(SegmenterContract):
    def make(self) -> Segmenter:
        reg = plugins.registry()
        if "halves" not in reg.names(SEGMENTER):  # not installed: register it in-process
            reg = plugins.build_registry([("halves", vagent_example_halves)])
        return reg.create(SEGMENTER, "halves")


def test_the_contract_without_pytest_classes() -> None:
    report = run_contract("segmenter", lambda tmp: Halves())
    assert report.ok, report.lines()
    assert {o.check for o in report.outcomes} == set(SegmenterContract.checks())


def test_two_halves() -> None:
    times = np.arange(30, dtype=np.float64)
    spans = Halves().segment(times, np.ones((30, 4), np.float32), 30.0)
    assert [(s.start, s.end, len(s.frames)) for s in spans] == [(0, 15, 15), (15, 30, 15)]
