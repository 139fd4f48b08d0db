"""The answerer contract checks the KV capability of answerers that declare it: a scripted
answerer with word-seeded caches keeps it, one whose encoder makes caches under a fingerprint
it does not read fails that one check, and an answerer that reads no caches skips it."""

from __future__ import annotations

from tests.plugins.kvscripted import ForeignKv, KvScripted
from tests.plugins.scripted import Scripted
from vagent.testing import Report, run_contract

CHECK = "test_kv_capable_encoder_round_trips_through_the_store"


def _status(report: Report, check: str) -> str:
    return next(o.status for o in report.outcomes if o.check == check)


def test_a_kv_answerer_keeps_the_kv_check() -> None:
    report = run_contract("answerer", lambda tmp: KvScripted())
    assert report.ok, report.lines()
    assert _status(report, CHECK) == "passed"


def test_an_encoder_under_a_fingerprint_it_does_not_read_fails_it() -> None:
    report = run_contract("answerer", lambda tmp: ForeignKv())
    failed = {o.check: o.message for o in report.failed}
    assert set(failed) == {CHECK}, report.lines()
    assert "answerer contract" in failed[CHECK] and "does not read" in failed[CHECK]


def test_an_answerer_that_reads_no_caches_skips_it() -> None:
    report = run_contract("answerer", lambda tmp: Scripted())
    assert report.ok and _status(report, CHECK) == "skipped", report.lines()
