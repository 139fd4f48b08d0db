"""FAISS behind the VectorIndex contract.

Ids are catalog row ids and vectors can be reconstructed by id (frame rescoring, rebuilds), for
every factory string, through add, remove, replace and rebuild:

- IVF indexes (``IVF1024,Flat``, ``IVF4096,PQ32``) store the ids themselves, in their inverted
  lists, with a hash-table direct map for reconstruction and removal. They are never wrapped in
  ``IDMap2``: its ``remove_ids`` compacts its id map while IVF keeps its own internal numbers, so
  after a removal ids pointed at other vectors.
- Every other index is ``IDMap2,<factory>``. Removal goes through FAISS only where the inner
  index compacts its codes the way ``IDMap2`` compacts its map (flat codes: Flat, PQ, SQ);
  anything else (HNSW) is rebuilt from its surviving reconstructed vectors.

An index that needs training (IVF, PQ) starts as an exact ``IDMap2,Flat`` "staging" index and is
trained on its own vectors once it holds enough of them; searching works throughout. With
faiss-gpu and a GPU, searches run on the GPU.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import faiss as _faiss
import numpy as np

from vagent.components import VectorIndex
from vagent.errors import VagentWarning

# faiss ships type hints (faiss/__init__.pyi) for part of its SWIG API only: DirectMap,
# SearchParametersHNSW, PyCallbackIOWriter, the search parameters' keyword arguments and the
# downcast indexes' methods are missing, so this module uses it untyped.
faiss: Any = _faiss

# FAISS warns below 39 training points per centroid; PQ codebooks have 2**nbits centroids.
POINTS_PER_CENTROID = 39
# Recall knobs a factory string cannot carry: IVF lists probed per query, HNSW beam width.
NPROBE = 16
EF_SEARCH = 64


def _min_train(spec: str) -> int:
    m = re.search(r"IVF(\d+)", spec)
    nlist = int(m.group(1)) if m else 0
    pq = re.search(r"PQ\d+(?:x(\d+))?", spec)
    ksub = 2 ** int(pq.group(1) or 8) if pq else 0
    return POINTS_PER_CENTROID * max(nlist, ksub, 1)


def _ivf(index: Any) -> Any:
    """The index itself when it is a bare IVF index (ids kept natively), else None."""
    index = faiss.downcast_index(index) if not isinstance(index, faiss.IndexIVF) else index
    return index if isinstance(index, faiss.IndexIVF) else None


def _inner(index: Any) -> Any:
    """The index doing the work: the IVF itself, or what ``IDMap2`` wraps."""
    if isinstance(index, faiss.IndexIDMap2 | faiss.IndexIDMap):
        return faiss.downcast_index(index.index)
    return index


def _new(spec: str, dim: int) -> Any:
    bare = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
    if _ivf(bare) is not None:
        ivf = _ivf(bare)
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        return _tune(ivf)
    return _tune(faiss.index_factory(dim, f"IDMap2,{spec}", faiss.METRIC_INNER_PRODUCT))


def _tune(index: Any) -> Any:
    inner = _inner(index)
    ivf = faiss.try_extract_index_ivf(inner)
    if ivf is not None:
        ivf.nprobe = min(ivf.nlist, NPROBE)
    if hasattr(inner, "hnsw"):
        inner.hnsw.efSearch = max(inner.hnsw.efSearch, EF_SEARCH)
    return index


def _params(index: Any, sel: Any) -> Any:
    """Search parameters of the type the inner index insists on, carrying the id filter."""
    inner = _inner(index)
    ivf = faiss.try_extract_index_ivf(inner)
    if ivf is not None:
        return faiss.SearchParametersIVF(sel=sel, nprobe=ivf.nprobe)
    if hasattr(inner, "hnsw"):
        return faiss.SearchParametersHNSW(sel=sel, efSearch=inner.hnsw.efSearch)
    return faiss.SearchParameters(sel=sel)


def _ivf_ids(ivf: Any) -> np.ndarray:
    lists = ivf.invlists
    parts = [np.zeros(0, np.int64)]
    for i in range(ivf.nlist):
        n = lists.list_size(i)
        if n:
            parts.append(faiss.rev_swig_ptr(lists.get_ids(i), n).astype(np.int64))
    return np.concatenate(parts)


def _native_ivf(index: Any) -> Any:
    """A loaded ``IDMap2,IVF...`` (written by older vagents) as a bare IVF with the same
    ids and vectors."""
    ivf = _inner(index)
    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    if ivf.direct_map.type == faiss.DirectMap.NoMap:
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
    vectors = index.reconstruct_batch(ids) if len(ids) else None
    fresh = faiss.clone_index(ivf)
    fresh.reset()
    fresh.set_direct_map_type(faiss.DirectMap.Hashtable)
    if vectors is not None:
        fresh.add_with_ids(vectors, ids)
    return fresh


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
        return self.needs_training and isinstance(_inner(self._index), faiss.IndexFlat)

    @property
    def trained(self) -> bool:
        return not self.staging

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> np.ndarray:
        """Every stored id (in storage order)."""
        ivf = _ivf(self._index)
        if ivf is not None:
            return _ivf_ids(ivf)
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self.checked_batch(ids, vectors, self.ids(), "faiss")
        self._index.add_with_ids(vectors, ids)
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
        ivf = _ivf(self._index)
        if ivf is not None:
            # the hash-table direct map removes only through an array selector
            return int(ivf.remove_ids(faiss.IDSelectorArray(ids)))
        if isinstance(_inner(self._index), faiss.IndexFlatCodes):
            return int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))
        # Cannot compact in step with the id map (HNSW): rebuild from the survivors into a
        # clone that keeps the training.
        keep = np.setdiff1d(self.ids(), ids)
        vectors = self.reconstruct(keep)
        fresh = _tune(faiss.clone_index(self._index))
        fresh.reset()
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
            allowed = np.ascontiguousarray(allowed, dtype=np.int64)
            sel = faiss.IDSelectorBatch(allowed)
            try:
                scores, ids = self._index.search(queries, k, params=_params(self._index, sel))
            except RuntimeError:  # the inner index takes no filter (PQ): score the allowed ones
                return self._scan(queries, k, allowed)
        return scores.astype(np.float32), ids.astype(np.int64)

    def _scan(
        self, queries: np.ndarray, k: int, allowed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exhaustive search over the stored vectors of ``allowed`` (the ones present)."""
        allowed = np.intersect1d(allowed, self.ids())
        m = len(queries)
        scores = np.full((m, k), -np.inf, np.float32)
        ids = np.full((m, k), -1, np.int64)
        if len(allowed):
            sims = queries @ self.reconstruct(allowed).T
            n = min(k, len(allowed))
            top = np.argsort(-sims, axis=1, kind="stable")[:, :n]
            scores[:, :n] = np.take_along_axis(sims, top, axis=1)
            ids[:, :n] = allowed[top]
        return scores, ids

    def _searcher(self) -> Any:
        if self._gpu is None:
            self._gpu = self._index
            if hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0:
                try:
                    self._gpu = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, self._index)
                except Exception as exc:  # not every index type has a GPU twin
                    warnings.warn(
                        f"faiss: searching '{self.spec}' on the CPU ({exc})",
                        VagentWarning,
                        stacklevel=2,
                    )
        return self._gpu

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return np.zeros((0, self.dim), np.float32)
        return np.asarray(self._index.reconstruct_batch(ids), dtype=np.float32)

    def save(self, path: str) -> None:
        # Through a Python file: FAISS's own writer only prints a failed close (a full disk) and
        # leaves a short file behind; Python raises OSError(ENOSPC) for it.
        with open(path, "wb") as fh:
            faiss.write_index(self._index, faiss.PyCallbackIOWriter(fh.write))

    def load(self, path: str) -> None:
        # read_index returns the concrete, owning object; downcast_index would return a view
        # that dangles once this one is collected.
        try:
            index = faiss.read_index(path)
        except RuntimeError as exc:
            why = _first_line(exc)
            raise ValueError(f"faiss: {path} is not a readable index ({why})") from None
        if index.d != self.dim:
            raise ValueError(f"faiss: {path} holds {index.d}-d vectors, expected {self.dim}")
        if isinstance(index, faiss.IndexIDMap2) and _ivf(_inner(index)) is not None:
            index = _native_ivf(index)
        ivf = _ivf(index)
        if ivf is not None and ivf.direct_map.type != faiss.DirectMap.Hashtable:
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        self._index = _tune(index)
        self._gpu = None


def _first_line(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1].strip() if lines else type(exc).__name__
