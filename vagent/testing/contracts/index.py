"""The vector index contract (``vagent.components.VectorIndex``).

Every id stays on its own vector through add, remove, replace and rebuild (save and load into a
fresh instance, training), checked against brute force in numpy; search returns (m, k) float32
scores and int64 ids with -1 in empty slots, restricted to ``allowed`` when given; a batch of the
wrong width, a count mismatch or an id already present raises ``ValueError``.

``make()`` returns an empty index of width ``self.dim``. ``exact = False`` for approximate
indexes (HNSW): their search is held to recall@10 >= 0.9 instead of the exact best.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np

from vagent.components import VectorIndex
from vagent.testing.contracts.base import Contract, ContractFailure

DIM = 32


def _unit(n: int, seed: int, dim: int = DIM) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _need(ok: object, what: str) -> None:
    if not ok:
        raise ContractFailure(f"index contract: {what}")


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
    gone = index.remove(ids)
    _need(gone == len(present), f"remove() said {gone} went, {len(present)} were present")
    for i in present:
        del model.original[i]
        del model.stored[i]


def check(index: VectorIndex, model: Model, exact: bool, seed: int) -> None:
    """The index holds exactly the model's ids, each on its own vector; search agrees."""
    live = model.ids()
    step = f"(step {seed})"
    _need(index.ntotal == len(live), f"ntotal {index.ntotal}, {len(live)} stored {step}")
    ids_of = getattr(index, "ids", None)
    if callable(ids_of):
        _need(np.array_equal(np.sort(ids_of()), live), f"ids() differ from those stored {step}")
    if not len(live):
        return
    rec = index.reconstruct(live)
    stored = np.stack([model.stored[i] for i in live.tolist()])
    _need(np.allclose(rec, stored, atol=1e-5), f"an id moved off its vector {step}")
    original = np.stack([model.original[i] for i in live.tolist()])
    # and that vector is the one added (lossy codes: near it, on average)
    _need(float(np.mean(np.sum(rec * original, axis=1))) > 0.6, f"vectors drifted {step}")
    q = _unit(40, seed, index.dim)
    k = min(10, len(live))
    scores, got = index.search(q, k)
    _need(set(got[got >= 0].tolist()) <= set(live.tolist()), f"search found removed ids {step}")
    # every returned score is the query against the vector stored under the returned id
    sims = q @ rec.T
    pos = {int(i): n for n, i in enumerate(live.tolist())}
    for r in range(len(q)):
        for s, i in zip(scores[r], got[r]):
            if i >= 0:
                d = abs(float(s) - float(sims[r, pos[int(i)]]))
                _need(d < 1e-3, f"score of id {i} is off by {d:.4f} {step}")
    brute = live[np.argsort(-sims, axis=1)[:, :k]]
    if exact:
        top1 = sims[np.arange(len(q)), np.searchsorted(live, got[:, 0])]
        _need(np.allclose(top1, sims.max(axis=1), atol=1e-4), f"search missed the best {step}")
    else:
        recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(got.tolist(), brute.tolist())])
        _need(recall >= 0.9, f"recall@{k} {recall:.2f} < 0.9 {step}")
    # a filter restricts to the allowed ids and still finds their best
    allowed = live[::3]
    s2, g2 = index.search(q, 5, allowed=allowed)
    _need(set(g2[g2 >= 0].tolist()) <= set(allowed.tolist()), f"filter let others in {step}")
    if exact:
        cols = np.searchsorted(live, allowed)
        best = sims[:, cols].max(axis=1)
        _need(np.allclose(s2[:, 0], best, atol=1e-4), f"filtered search missed the best {step}")


def contract_cycle(make: Callable[[], VectorIndex], exact: bool, tmp_path: Path) -> None:
    """Add, remove, replace, save/load and keep going, checking the index after each step."""
    index, model = make(), Model()
    dim = index.dim
    check(index, model, exact, 0)
    # small adds first (a trainable index stays exact), then enough to train
    _add(index, model, np.arange(1000, 1100, dtype=np.int64), _unit(100, 1, dim))
    check(index, model, exact, 1)
    _add(index, model, np.arange(1100, 1700, dtype=np.int64), _unit(600, 2, dim))
    _need(not getattr(index, "staging", False), "700 vectors are enough to train on")
    check(index, model, exact, 2)
    # remove a scattered set and a block, then ids that are not there
    _remove(index, model, np.arange(1000, 1700, 7, dtype=np.int64))
    _remove(index, model, np.arange(1040, 1080, dtype=np.int64))
    gone = index.remove(np.array([5, 1040, 99999], np.int64))
    _need(gone == 0, f"removing absent ids said {gone} went")
    check(index, model, exact, 3)
    # replace: the same ids come back with new vectors (a re-indexed video)
    again = np.arange(1050, 1075, dtype=np.int64)
    _remove(index, model, again)
    _add(index, model, again, _unit(len(again), 4, dim))
    check(index, model, exact, 4)
    # new ids after the removals, above and between the old ones
    _add(index, model, np.arange(5000, 5100, dtype=np.int64), _unit(100, 5, dim))
    back = np.setdiff1d(np.arange(1000, 1700, 7, dtype=np.int64), model.ids())[:20]
    _add(index, model, back, _unit(len(back), 6, dim))
    check(index, model, exact, 5)
    # rebuild: save and load into a fresh instance; then keep going on the loaded one
    index.save(str(tmp_path / "g1.idx"))
    loaded = make()
    loaded.load(str(tmp_path / "g1.idx"))
    check(loaded, model, exact, 6)
    _remove(loaded, model, np.arange(1100, 1300, 3, dtype=np.int64))
    _add(loaded, model, np.arange(7000, 7050, dtype=np.int64), _unit(50, 7, dim))
    check(loaded, model, exact, 7)
    loaded.save(str(tmp_path / "g2.idx"))
    last = make()
    last.load(str(tmp_path / "g2.idx"))
    check(last, model, exact, 8)
    # down to empty and back
    _remove(last, model, model.ids())
    check(last, model, exact, 9)
    _add(last, model, np.arange(10, 20, dtype=np.int64), _unit(10, 10, dim))
    check(last, model, exact, 10)


class IndexContract(Contract[VectorIndex]):
    """Subclass and define ``make(self) -> VectorIndex`` (empty, width ``self.dim``); set
    ``exact = False`` for an approximate index."""

    kind: ClassVar[str] = "index"
    base: ClassVar[type] = VectorIndex
    dim: ClassVar[int] = DIM
    exact: ClassVar[bool] = True

    def test_width_and_spec(self) -> None:
        index = self.component()
        self.expect(index.dim == self.dim, f"dim {index.dim}, asked for {self.dim}")
        self.expect(isinstance(index.spec, str), f"spec {index.spec!r} is not a str")
        self.expect(index.ntotal == 0, f"a new index holds {index.ntotal} vectors")

    def test_empty_search_has_no_ids(self) -> None:
        scores, ids = self.component().search(_unit(3, 0, self.dim), 4)
        self.expect(scores.shape == (3, 4) and ids.shape == (3, 4), f"{scores.shape}, {ids.shape}")
        self.expect(np.all(ids == -1), f"ids {ids.tolist()} from an empty index")

    def test_search_shapes_dtypes_and_missing_slots(self) -> None:
        index = self.component()
        index.add(np.array([7, 3, 11], np.int64), _unit(3, 1, self.dim))
        scores, ids = index.search(_unit(2, 2, self.dim), 5)
        self.expect(scores.dtype == np.float32, f"scores are {scores.dtype}, not float32")
        self.expect(ids.dtype == np.int64, f"ids are {ids.dtype}, not int64")
        self.expect(scores.shape == (2, 5) and ids.shape == (2, 5), f"{scores.shape} {ids.shape}")
        for row in ids.tolist():
            self.expect(sorted(row[:3]) == [3, 7, 11] and row[3:] == [-1, -1], f"ids {row}")
        _, none = index.search(_unit(1, 3, self.dim), 2, allowed=np.zeros(0, np.int64))
        self.expect(np.all(none == -1), f"an empty allowed set found {none.tolist()}")

    def test_bad_batches_raise_value_error(self) -> None:
        index = self.component()
        index.add(np.array([1, 2], np.int64), _unit(2, 1, self.dim))
        for what, ids, x in (
            ("a batch of the wrong width", [5], _unit(1, 2, self.dim + 1)),
            ("3 ids for 2 vectors", [5, 6, 7], _unit(2, 2, self.dim)),
            ("an id twice in one batch", [5, 5], _unit(2, 2, self.dim)),
            ("an id already in the index", [2], _unit(1, 2, self.dim)),
        ):
            self.raises(ValueError, functools.partial(index.add, np.array(ids, np.int64), x), what)
        self.expect(index.ntotal == 2, f"a refused batch left {index.ntotal - 2} vectors behind")

    def test_ids_survive_add_remove_replace_save_load(self) -> None:
        contract_cycle(self.make, self.exact, self.tmp_path)
