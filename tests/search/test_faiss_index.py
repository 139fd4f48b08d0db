"""The FAISS plugin against brute-force inner products on synthetic vectors (the contract every
VectorIndex implementation must meet: add, search, filter, remove, reconstruct, save/load)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vagent import plugins
from vagent.components import INDEX, VectorIndex


def _data(n: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.arange(1000, 1000 + n, dtype=np.int64), x


def _brute(ids: np.ndarray, x: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    return ids[np.argsort(-(x @ q.T).T, axis=1)[:, :k]]


def _make(spec: str, dim: int) -> VectorIndex:
    index: VectorIndex = plugins.registry().create(INDEX, f"faiss/{spec}", dim=dim)
    return index


@pytest.mark.parametrize("spec", ["Flat", "HNSW32", "IVF8,Flat"])
def test_search_matches_brute_force(spec: str) -> None:
    ids, x = _data(2000, 32)
    index = _make(spec, 32)
    index.add(ids, x)
    q = x[:20] + 0.01
    scores, got = index.search(q, 5)
    want = _brute(ids, x, q, 5)
    if spec == "Flat":
        np.testing.assert_array_equal(got, want)
        np.testing.assert_allclose(scores[:, 0], np.sort(x @ q.T, axis=0)[-1], rtol=1e-5)
    else:  # approximate: the true nearest neighbour is found for nearly every query
        assert (got[:, 0] == want[:, 0]).mean() >= 0.9


def test_trainable_index_is_exact_until_trained() -> None:
    index = _make("IVF4,Flat", 16)
    assert index.staging  # type: ignore[attr-defined]
    ids, x = _data(100, 16)
    index.add(ids[:50], x[:50])
    assert index.staging  # type: ignore[attr-defined]  # 4 lists need 156 points to train
    np.testing.assert_array_equal(index.search(x[:3], 1)[1][:, 0], ids[:3])
    index.add(ids[50:], x[50:])
    more_ids, more = _data(100, 16, seed=1)
    index.add(more_ids + 500, more)
    assert not index.staging  # type: ignore[attr-defined] and index.ntotal == 200


@pytest.mark.parametrize("spec", ["Flat", "HNSW32", "IVF8,Flat"])
def test_filter_remove_reconstruct_roundtrip(spec: str, tmp_path: Path) -> None:
    ids, x = _data(500, 16)
    index = _make(spec, 16)
    index.add(ids, x)
    allowed = ids[::7]
    _, got = index.search(x[:5], 10, allowed=allowed)
    assert set(got[got >= 0].tolist()) <= set(allowed.tolist())
    np.testing.assert_allclose(index.reconstruct(ids[10:13]), x[10:13], atol=1e-6)
    assert index.remove(ids[:100]) == 100 and index.ntotal == 400
    _, got = index.search(x[:100], 3)
    assert not set(got.ravel().tolist()) & set(ids[:100].tolist())
    index.save(str(tmp_path / "i.faiss"))
    again = _make(spec, 16)
    again.load(str(tmp_path / "i.faiss"))
    assert again.ntotal == 400
    np.testing.assert_array_equal(again.search(x[200:210], 3)[1], index.search(x[200:210], 3)[1])


def test_wrong_width_and_empty_cases() -> None:
    index = _make("Flat", 8)
    _, got = index.search(np.zeros((2, 8), np.float32), 3)
    assert got.shape == (2, 3) and (got == -1).all()
    with pytest.raises(ValueError, match="width"):
        index.add(np.arange(2), np.zeros((2, 9), np.float32))
    with pytest.raises(ValueError, match="bad index factory"):
        _make("NoSuchIndex", 8)
