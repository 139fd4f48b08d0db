"""Queries of concurrent searches encoded together (vagent.search.batch): a batch never over
its cap, every search gets its own row, one bad query fails alone, and the light MiniLM's rows
encoded together are bit-identical to rows encoded alone, so concurrent searches in the server
give exactly the hits of the same searches one at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import index_cooking_talk, using_plugins
from tests.plugins import colour
from tests.plugins_host.test_sbert_light import WORDS, _tiny_bert
from vagent.library import Library
from vagent.search import batch
from vagent.search.batch import Batcher
from vagent.serve.service import Service


class Held:
    """An encoder function that holds its first ``hold`` calls until ``go`` is set, and
    records the texts of every call."""

    def __init__(self, hold: int) -> None:
        self.hold = hold
        self.calls: list[list[str]] = []
        self.arrived = threading.Semaphore(0)
        self.go = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        with self.lock:
            self.calls.append(list(texts))
            held = len(self.calls) <= self.hold
        if held:
            self.arrived.release()
            assert self.go.wait(30)
        if any("bad" in t for t in texts):
            raise ValueError("a bad query")
        return np.array([[len(t), ord(t[-1])] for t in texts], np.float32)


def _in_threads(
    batcher: Batcher, texts: list[str]
) -> tuple[dict[str, object], list[threading.Thread]]:
    """``batcher.encode`` of each text in a thread of its own: (text -> row or error, the
    threads, started)."""
    out: dict[str, object] = {}

    def one(t: str) -> None:
        try:
            out[t] = batcher.encode(t).tolist()
        except ValueError as exc:
            out[t] = exc

    threads = [threading.Thread(target=one, args=(t,)) for t in texts]
    for th in threads:
        th.start()
    return out, threads


def test_waiting_queries_go_together_never_over_the_cap() -> None:
    fn = Held(hold=2)
    batcher = Batcher(fn, cap=4, lanes=2)
    texts = [f"query {i:02d}" for i in range(19)]
    out, first = _in_threads(batcher, texts[:2])
    assert fn.arrived.acquire(timeout=10) and fn.arrived.acquire(timeout=10)  # two lanes busy
    late, rest = _in_threads(batcher, texts[2:])
    deadline = threading.Event()
    while len(batcher._queue) < 17 and not deadline.wait(0.01):  # all waiting for a lane
        pass
    fn.go.set()
    for th in first + rest:
        th.join(30)
    got = out | late
    assert got == {t: [float(len(t)), float(ord(t[-1]))] for t in texts}  # each its own row
    sizes = [len(c) for c in fn.calls]
    assert sizes[:2] == [1, 1]  # nothing waited for company
    assert max(sizes) == 4 and all(s <= 4 for s in sizes)  # together, never over the cap
    assert sorted(t for c in fn.calls for t in c) == sorted(texts)  # each encoded once
    assert len(fn.calls) == batcher.calls < len(texts)


def test_once_searches_come_together_a_free_lane_waits_for_company_but_a_lone_one_never() -> None:
    fn = Held(hold=0)
    batcher = Batcher(fn, cap=3, lanes=1, fill_wait=30.0)
    t0 = time.monotonic()
    for text in ("alone", "one", "two"):  # calls of one query: no company wanted
        assert batcher.encode(text).tolist() == [float(len(text)), float(ord(text[-1]))]
    assert time.monotonic() - t0 < 15 and fn.calls == [["alone"], ["one"], ["two"]]
    fn.hold = len(fn.calls) + 1  # the next call waits for go; two queue up behind it
    _, first = _in_threads(batcher, ["first"])
    assert fn.arrived.acquire(timeout=10)
    _, pair = _in_threads(batcher, ["a", "b"])
    while len(batcher._queue) < 2:
        threading.Event().wait(0.01)
    fn.go.set()
    for th in first + pair:
        th.join(30)
    assert sorted(fn.calls[-1]) == ["a", "b"]  # a call of two: searches come together
    t0 = time.monotonic()
    got, late = _in_threads(batcher, ["c"])  # alone at a free lane: it waits for company
    while len(batcher._queue) < 1:
        threading.Event().wait(0.01)
    threading.Event().wait(0.3)
    assert late[0].is_alive() and len(fn.calls) == 5  # still waiting, nothing encoded
    more, rest = _in_threads(batcher, ["d", "e"])  # the call is full: it goes at once
    for th in late + rest:
        th.join(30)
    assert time.monotonic() - t0 < 15  # not the 30 s wait
    assert sorted(fn.calls[-1]) == ["c", "d", "e"] and len(fn.calls) == 6
    assert (got | more)["c"] == [1.0, float(ord("c"))]


def test_a_bad_query_fails_alone() -> None:
    fn = Held(hold=1)
    batcher = Batcher(fn, cap=8, lanes=1)
    _, first = _in_threads(batcher, ["first"])
    assert fn.arrived.acquire(timeout=10)
    got, rest = _in_threads(batcher, ["one", "a bad one", "two"])
    while len(batcher._queue) < 3:
        threading.Event().wait(0.01)
    fn.go.set()
    for th in first + rest:
        th.join(30)
    assert isinstance(got["a bad one"], ValueError)
    assert got["one"] == [3.0, float(ord("e"))] and got["two"] == [3.0, float(ord("o"))]
    assert ["one", "a bad one", "two"] in fn.calls  # tried together first


def test_encoders_without_query_batch_are_called_once_per_query() -> None:
    class Plain:
        def __init__(self) -> None:
            self.calls: list[list[str]] = []

        def encode(self, texts: Sequence[str]) -> np.ndarray:
            self.calls.append(list(texts))
            return np.ones((len(texts), 2), np.float32)

    enc = Plain()
    assert batch.encode_query(enc, "red").tolist() == [1.0, 1.0]
    assert enc.calls == [["red"]] and enc not in batch._BATCHERS


def test_light_bert_rows_together_equal_rows_alone(tmp_path: Path) -> None:
    from vagent_sbert import light
    from vagent_sbert.encoder import LIGHT_MAX_TEXTS, SentenceEncoder

    folder = _tiny_bert(tmp_path / "bert")
    model = light.LightBert.open(folder)
    assert model is not None
    rng = np.random.default_rng(3)
    texts = [" ".join(rng.choice(WORDS[3:], size=int(rng.integers(1, 20)))) for _ in range(40)]
    alone = np.stack([model.encode([t])[0] for t in texts])
    for size in (2, 3, 8):
        for i in range(0, len(texts), size):
            together = model.encode_together(texts[i : i + size])
            assert np.array_equal(together, alone[i : i + size])  # bit for bit
    assert model.together_is_exact()
    enc = SentenceEncoder(str(folder))
    assert enc.query_batch == LIGHT_MAX_TEXTS
    assert np.array_equal(enc.encode(texts[:5]), alone[:5])


@pytest.fixture
def talk(tmp_path: Path) -> Library:
    """cooking.mp4 with three subtitle cues, the colour encoder and the default MiniLM."""
    with using_plugins(colour):
        return index_cooking_talk(tmp_path)


def test_concurrent_searches_get_exactly_the_hits_of_one_at_a_time(
    talk: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from vagent_sbert import light

    def blas() -> list[int]:
        return [
            i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"
        ]

    queries = [f"{w} {i}" for i, w in enumerate(["salt", "bread", "oven", "kitchen"] * 2)]
    queries += ["a", "degrees"]  # one-word queries: the fewest rows
    with using_plugins(colour):
        want = {q: [h.to_dict() for h in talk.search(q, k=3)] for q in queries}
        svc = Service(Library.open(talk.root), search_workers=len(queries), search_queue=0)
        before = blas()
        try:
            svc.load()
            svc.search("warm up", k=3)
            assert set(blas()) == {1}  # each search's small products in its own thread
            sizes: list[int] = []
            go, arrived = threading.Event(), threading.Semaphore(0)
            together = light.LightBert._many

            def held(self: light.LightBert, texts: list[str]) -> np.ndarray:
                sizes.append(len(texts))
                if len(sizes) <= batch.LANES:  # the first calls wait: the rest queue up
                    arrived.release()
                    assert go.wait(30)
                return together(self, texts)

            monkeypatch.setattr(light.LightBert, "_many", held)
            futures = {q: svc.submit_search(q, k=3) for q in queries}
            assert all(arrived.acquire(timeout=30) for _ in range(batch.LANES))
            waiting = len(queries) - batch.LANES
            for _ in range(1000):  # the other searches reach the batcher meanwhile
                if max(len(b._queue) for b in list(batch._BATCHERS.values())) >= waiting:
                    break
                threading.Event().wait(0.01)
            go.set()
            got = {q: f.result(60) for q, f in futures.items()}
        finally:
            svc.close()
    assert blas() == before  # as they were before the server
    assert got == want
    assert max(sizes) > 1 and max(sizes) <= batch.CAP  # put together, never over the cap
    assert sum(sizes) == len(queries)
