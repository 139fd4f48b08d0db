"""FAISS behind the VectorIndex contract.

Every index is ``IDMap2,<factory>`` with inner product, so ids are catalog row ids and vectors
can be reconstructed by id (frame rescoring, rebuilds). An index that needs training (IVF, PQ)
starts as an exact ``IDMap2,Flat`` "staging" index and is trained on its own vectors once it holds
enough of them; searching works throughout. Indexes that cannot remove (HNSW) are rebuilt from
their reconstructed vectors on removal. With faiss-gpu and a GPU, searches run on the GPU.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import faiss
import numpy as np

from vagent.components import VectorIndex

# FAISS warns below 39 training points per centroid; PQ codebooks have 256 centroids.
POINTS_PER_CENTROID = 39
# Recall knobs a factory string cannot carry: IVF lists probed per query, HNSW beam width.
NPROBE = 16
EF_SEARCH = 64


def _min_train(spec: str) -> int:
    m = re.search(r"IVF(\d+)", spec)
    nlist = int(m.group(1)) if m else 0
    pq = 256 if re.search(r"PQ\d+", spec) else 0
    return POINTS_PER_CENTROID * max(nlist, pq, 1)


def _new(spec: str, dim: int) -> Any:
    return _tune(faiss.index_factory(dim, f"IDMap2,{spec}", faiss.METRIC_INNER_PRODUCT))


def _tune(index: Any) -> Any:
    inner = faiss.downcast_index(index.index)
    ivf = faiss.try_extract_index_ivf(inner)
    if ivf is not None:
        ivf.nprobe = min(ivf.nlist, NPROBE)
    if hasattr(inner, "hnsw"):
        inner.hnsw.efSearch = max(inner.hnsw.efSearch, EF_SEARCH)
    return index


def _ensure_direct_map(index: Any) -> None:
    """IVF indexes reconstruct by id (frame rescoring, rebuilds) only with a direct map."""
    ivf = faiss.try_extract_index_ivf(faiss.downcast_index(index.index))
    if ivf is not None and ivf.is_trained and ivf.direct_map.type == faiss.DirectMap.NoMap:
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)


def _params(index: Any, sel: Any) -> Any:
    """Search parameters of the type the inner index insists on, carrying the id filter."""
    inner = faiss.downcast_index(index.index)
    ivf = faiss.try_extract_index_ivf(inner)
    if ivf is not None:
        return faiss.SearchParametersIVF(sel=sel, nprobe=ivf.nprobe)
    if hasattr(inner, "hnsw"):
        return faiss.SearchParametersHNSW(sel=sel, efSearch=inner.hnsw.efSearch)
    return faiss.SearchParameters(sel=sel)


class FaissIndex(VectorIndex):
    def __init__(self, spec: str, dim: int) -> None:
        self.spec = spec
        self.dim = dim
        try:
            probe = _new(spec, dim)
        except RuntimeError as exc:
            raise ValueError(f"faiss: bad index factory '{spec}': {exc}") from None
        self.needs_training = not probe.is_trained
        self.train_at = _min_train(spec) if self.needs_training else 0
        self._index = _new("Flat", dim) if self.needs_training else probe
        self._gpu: Any = None

    @property
    def staging(self) -> bool:
        """True while a trainable index is still the exact Flat stand-in."""
        return self.needs_training and self._inner_is_flat()

    def _inner_is_flat(self) -> bool:
        inner = faiss.downcast_index(self._index.index)
        return isinstance(inner, faiss.IndexFlat)

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape[1:] != (self.dim,):
            raise ValueError(
                f"faiss: vectors of width {vectors.shape[1:]} into a {self.dim}-d index"
            )
        self._index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))
        self._gpu = None
        if self.staging and self.ntotal >= self.train_at:
            self._train_from_staging()

    def _train_from_staging(self) -> None:
        ids = self.ids()
        vectors = self.reconstruct(ids)
        index = _new(self.spec, self.dim)
        index.train(vectors)
        index.add_with_ids(vectors, ids)
        self._index = index

    def remove(self, ids: np.ndarray) -> int:
        ids = np.intersect1d(self.ids(), np.asarray(ids, dtype=np.int64))
        if len(ids) == 0:
            return 0
        self._gpu = None
        try:
            return int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))
        except RuntimeError:
            # HNSW cannot remove; IVF with a direct map cannot through an id map. Rebuild from
            # the survivors into a clone that keeps the training (no retraining, same lists).
            keep = np.setdiff1d(self.ids(), ids)
            vectors = self.reconstruct(keep)
            fresh = faiss.clone_index(self._index)
            fresh.reset()
            fresh = _tune(fresh)
            if len(keep):
                fresh.add_with_ids(vectors, keep)
            self._index = fresh
            return len(ids)

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        m = len(queries)
        if self.ntotal == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return np.zeros((m, max(k, 0)), np.float32), np.full((m, max(k, 0)), -1, np.int64)
        if allowed is None:
            scores, ids = self._searcher().search(queries, k)
        else:
            sel = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            scores, ids = self._index.search(queries, k, params=_params(self._index, sel))
        return scores.astype(np.float32), ids.astype(np.int64)

    def _searcher(self) -> Any:
        if self._gpu is None:
            self._gpu = self._index
            if hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0:
                try:
                    self._gpu = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, self._index)
                except Exception as exc:  # not every index type has a GPU twin
                    warnings.warn(
                        f"faiss: searching '{self.spec}' on the CPU ({exc})", stacklevel=2
                    )
        return self._gpu

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return np.zeros((0, self.dim), np.float32)
        _ensure_direct_map(self._index)
        return np.asarray(self._index.reconstruct_batch(ids), dtype=np.float32)

    def save(self, path: str) -> None:
        faiss.write_index(self._index, path)

    def load(self, path: str) -> None:
        # read_index returns the concrete, owning object; downcast_index would return a view
        # that dangles once this one is collected.
        index = faiss.read_index(path)
        if index.d != self.dim:
            raise ValueError(f"faiss: {path} holds {index.d}-d vectors, expected {self.dim}")
        self._index = _tune(index)
        self._gpu = None
