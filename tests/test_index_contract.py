"""The index contract: any ``VectorIndex`` keeps every id on its own vector through add, remove,
replace and rebuild (save/load, training), checked against brute force in numpy.

Every factory the README names runs the whole cycle. A third-party index plugin runs it by adding
its component id to ``INDEXES`` (or calling ``contract_cycle`` with its own factory).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from vagent import plugins
from vagent.components import VectorIndex

DIM = 32
# component id -> exact (search equals brute force over the stored vectors, up to ties)
INDEXES = {
    "faiss/Flat": True,
    "faiss/IVF8,Flat": True,  # 8 lists, all probed
    "faiss/HNSW32": False,
    "faiss/PQ8x4": True,  # lossy codes, but an exhaustive scan of them
    "faiss/IVF8,PQ8x4": True,
}


def _unit(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


class Model:
    """What the index should hold: id -> the vector it returned for that id when it was added
    (``reconstruct`` right after the add, so lossy codes compare exactly)."""

    def __init__(self) -> None:
        self.original: dict[int, np.ndarray] = {}
        self.stored: dict[int, np.ndarray] = {}

    def ids(self) -> np.ndarray:
        return np.array(sorted(self.original), np.int64)


def _add(index: VectorIndex, model: Model, ids: np.ndarray, x: np.ndarray) -> None:
    index.add(ids, x)
    for i, v in zip(ids.tolist(), x):
        model.original[i] = v
    # training may re-encode everything: take every stored vector afresh
    live = model.ids()
    model.stored = dict(zip(live.tolist(), index.reconstruct(live)))


def _remove(index: VectorIndex, model: Model, ids: np.ndarray) -> None:
    present = [i for i in ids.tolist() if i in model.original]
    assert index.remove(ids) == len(present)
    for i in present:
        del model.original[i]
        del model.stored[i]


def check(index: VectorIndex, model: Model, exact: bool, seed: int) -> None:
    """The index holds exactly the model's ids, each on its own vector; search agrees."""
    live = model.ids()
    assert index.ntotal == len(live)
    if hasattr(index, "ids"):
        np.testing.assert_array_equal(np.sort(index.ids()), live)
    if not len(live):
        return
    rec = index.reconstruct(live)
    stored = np.stack([model.stored[i] for i in live.tolist()])
    np.testing.assert_allclose(rec, stored, atol=1e-5)  # each id still on its vector
    original = np.stack([model.original[i] for i in live.tolist()])
    # and that vector is the one added (lossy codes: near it, on average)
    assert float(np.mean(np.sum(rec * original, axis=1))) > 0.6
    q = _unit(40, seed)
    k = min(10, len(live))
    scores, got = index.search(q, k)
    assert set(got[got >= 0].tolist()) <= set(live.tolist())
    # every returned score is the query against the vector stored under the returned id
    sims = q @ rec.T
    pos = {int(i): n for n, i in enumerate(live.tolist())}
    for r in range(len(q)):
        for s, i in zip(scores[r], got[r]):
            if i >= 0:
                assert abs(float(s) - float(sims[r, pos[int(i)]])) < 1e-3
    brute = live[np.argsort(-sims, axis=1)[:, :k]]
    if exact:
        top1 = sims[np.arange(len(q)), np.searchsorted(live, got[:, 0])]
        np.testing.assert_allclose(top1, sims.max(axis=1), atol=1e-4)
    else:
        recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(got.tolist(), brute.tolist())])
        assert recall >= 0.9
    # a filter restricts to the allowed ids and still finds their best
    allowed = live[::3]
    s2, g2 = index.search(q, 5, allowed=allowed)
    assert set(g2[g2 >= 0].tolist()) <= set(allowed.tolist())
    if exact:
        cols = np.searchsorted(live, allowed)
        np.testing.assert_allclose(s2[:, 0], sims[:, cols].max(axis=1), atol=1e-4)


def contract_cycle(make: Callable[[], VectorIndex], exact: bool, tmp_path: Path) -> None:
    index, model = make(), Model()
    check(index, model, exact, 0)
    # small adds first (a trainable index stays exact), then enough to train
    _add(index, model, np.arange(1000, 1100, dtype=np.int64), _unit(100, 1))
    check(index, model, exact, 1)
    _add(index, model, np.arange(1100, 1700, dtype=np.int64), _unit(600, 2))
    assert not getattr(index, "staging", False), "700 vectors are enough to train on"
    check(index, model, exact, 2)
    # remove a scattered set and a block, then ids that are not there
    _remove(index, model, np.arange(1000, 1700, 7, dtype=np.int64))
    _remove(index, model, np.arange(1040, 1080, dtype=np.int64))
    assert index.remove(np.array([5, 1040, 99999], np.int64)) == 0
    check(index, model, exact, 3)
    # replace: the same ids come back with new vectors (a re-indexed video)
    again = np.arange(1050, 1075, dtype=np.int64)
    _remove(index, model, again)
    _add(index, model, again, _unit(len(again), 4))
    check(index, model, exact, 4)
    # new ids after the removals, above and between the old ones
    _add(index, model, np.arange(5000, 5100, dtype=np.int64), _unit(100, 5))
    gone = np.setdiff1d(np.arange(1000, 1700, 7, dtype=np.int64), model.ids())[:20]
    _add(index, model, gone, _unit(len(gone), 6))
    check(index, model, exact, 5)
    # rebuild: save and load into a fresh instance; then keep going on the loaded one
    index.save(str(tmp_path / "g1.idx"))
    loaded = make()
    loaded.load(str(tmp_path / "g1.idx"))
    check(loaded, model, exact, 6)
    _remove(loaded, model, np.arange(1100, 1300, 3, dtype=np.int64))
    _add(loaded, model, np.arange(7000, 7050, dtype=np.int64), _unit(50, 7))
    check(loaded, model, exact, 7)
    loaded.save(str(tmp_path / "g2.idx"))
    last = make()
    last.load(str(tmp_path / "g2.idx"))
    check(last, model, exact, 8)
    # down to empty and back
    _remove(last, model, model.ids())
    check(last, model, exact, 9)
    _add(last, model, np.arange(10, 20, dtype=np.int64), _unit(10, 10))
    check(last, model, exact, 10)


@pytest.mark.parametrize("index_id", list(INDEXES))
def test_contract(index_id: str, tmp_path: Path) -> None:
    def make() -> VectorIndex:
        index: VectorIndex = plugins.registry().create("index", index_id, dim=DIM)
        return index

    contract_cycle(make, INDEXES[index_id], tmp_path)
