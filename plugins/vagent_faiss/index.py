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

Large indexes: the inverted lists of a loaded IVF index are memory-mapped (``IO_FLAG_MMAP``),
so a search reads only the lists it probes (other indexes are read whole); the first add or
remove reads the file into memory. A refine factory (``IVF4096,PQ64,Refine(SQfp16)``,
``...,RFlat``) keeps near-exact vectors beside the PQ codes, in memory: the shortlist
(``K_FACTOR`` times k) is rescored with them, and frames are reconstructed from them. PQ codes
are trained without FAISS's polysemous reordering (never used in search here).

An IVF-PQ index without a refine stage keeps its exact vectors as float16 rows after the FAISS
bytes of its own file (``vagent_faiss.exact``): memory-mapped on load, added and removed in step
with the index, used to rescore a shortlist of ``max(K_FACTOR * k, SHORTLIST)`` and to
reconstruct vectors exactly. Training draws a random sample spread over every vector held (not
the first ones to arrive), and such an index is trained again on a fresh spread sample, and
refilled from its exact rows, when it is saved having grown ``RETRAIN_GROWTH``-fold since.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import faiss as _faiss
import numpy as np

from vagent.components import VectorIndex
from vagent.errors import VagentWarning
from vagent_faiss.exact import ExactRows

# faiss ships type hints (faiss/__init__.pyi) for part of its SWIG API only: DirectMap,
# SearchParametersHNSW, PyCallbackIOWriter, the search parameters' keyword arguments and the
# downcast indexes' methods are missing, so this module uses it untyped.
faiss: Any = _faiss

# FAISS warns below 39 training points per centroid; PQ codebooks have 2**nbits centroids.
POINTS_PER_CENTROID = 39
# Recall knobs a factory string cannot carry: IVF lists probed per query, HNSW beam width.
NPROBE = 16
EF_SEARCH = 64
# An IVF's HNSW coarse quantizer (``IVF4096_HNSW32,...``) searches for the lists of each vector
# added and each query with at least this many candidates per list probed: FAISS's default (16)
# put a scene's frames in lists a query near them never probes (`vagent bench scale`, 10,000 h:
# recall@10 0.92 at 16, 0.94-0.95 at 128-256 with the index unchanged).
QUANTIZER_EF_PER_PROBE = 4
# A refine index rescores a shortlist of K_FACTOR * k from its base index.
K_FACTOR = 4
# An IVF-PQ index with exact rows rescores at least this many candidates (near-ties among many
# similar vectors need a long shortlist: `vagent bench scale`, 1,000 h of segments, recall@10
# 0.89 from 100, 0.95 from 200).
SHORTLIST = 200
# Such an index is trained again once it holds this many times the vectors it was trained with.
RETRAIN_GROWTH = 8
# ... and scans all of its exact rows while it holds at most this many shortlists' worth.
SCAN_FACTOR = 4
ADD_CHUNK = 1 << 16  # vectors added at a time while refilling a retrained index
# Loaded files are mapped, not read: IVF lists stay on disk until probed. (FAISS maps flat
# codes with IO_FLAG_MMAP_IFC instead, but refuses both flags at once.)
MMAP = faiss.IO_FLAG_MMAP


def _min_train(spec: str) -> int:
    m = re.search(r"IVF(\d+)", spec)
    nlist = int(m.group(1)) if m else 0
    pq = re.findall(r"PQ\d+(?:x(\d+))?", spec)  # OPQ<m> trains a PQ of 2**8 centroids too
    ksub = max((2 ** int(bits or 8) for bits in pq), default=0)
    return POINTS_PER_CENTROID * max(nlist, ksub, 1)


def _parts(index: Any) -> list[Any]:
    """``index`` and every index nested in it (IDMap, pre-transform such as OPQ or PCA,
    refine), downcast to their concrete types."""
    out, todo = [], [index]
    while todo:
        part = todo.pop()
        part = part if type(part) is not faiss.Index else faiss.downcast_index(part)
        out.append(part)
        for attr in ("index", "base_index", "refine_index"):
            inner = getattr(part, attr, None)
            if isinstance(inner, faiss.Index):
                todo.append(faiss.downcast_index(inner))
    return out


def _prepare(index: Any) -> Any:
    """No polysemous training (index_factory asks for it on ``PQ<m>``: it only reorders codes
    for Hamming filtering, and took ~99% of IVF-PQ's training time); an IVF nested in a wrapper
    (OPQ/PCA, refine) gets a direct map so its vectors can be reconstructed."""
    for part in _parts(index):
        if hasattr(part, "do_polysemous_training"):
            part.do_polysemous_training = False
        nested_ivf = part is not index and isinstance(part, faiss.IndexIVF)
        if nested_ivf and part.direct_map.type == faiss.DirectMap.NoMap:
            part.set_direct_map_type(faiss.DirectMap.Array)
    return index


def _lossy(index: Any) -> bool:
    """True for IVF-PQ without a refine stage: its codes alone rank roughly."""
    parts = _parts(index)
    pq = any(isinstance(p, faiss.IndexIVFPQ | faiss.IndexIVFPQFastScan) for p in parts)
    return pq and not any(isinstance(p, faiss.IndexRefine) for p in parts)


def _ivf(index: Any) -> Any:
    """The index itself when it is a bare IVF index (ids kept natively), else None."""
    index = faiss.downcast_index(index) if not isinstance(index, faiss.IndexIVF) else index
    return index if isinstance(index, faiss.IndexIVF) else None


def _inner(index: Any) -> Any:
    """The index doing the work: the IVF itself, or what ``IDMap2`` wraps."""
    if isinstance(index, faiss.IndexIDMap2 | faiss.IndexIDMap):
        return faiss.downcast_index(index.index)
    return index


def _new(spec: str, dim: int, nprobe: int = NPROBE) -> Any:
    bare = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
    if _ivf(bare) is not None:
        ivf = _prepare(_ivf(bare))
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        return _tune(ivf, nprobe)
    index = faiss.index_factory(dim, f"IDMap2,{spec}", faiss.METRIC_INNER_PRODUCT)
    return _tune(_prepare(index), nprobe)


SETTINGS = ("nprobe", "shortlist")


def parse_spec(spec: str) -> tuple[str, dict[str, int]]:
    """(FAISS factory string, search settings) of a spec: the factory's comma-separated parts,
    then any of ``nprobe=N`` (IVF lists probed) and ``shortlist=N`` (an IVF-PQ index's
    candidates rescored with its exact rows), e.g. ``IVF4096_HNSW32,PQ64,nprobe=64,
    shortlist=800``. The settings are pinned with the factory string; a factory string never
    holds '='. Raises ValueError for a setting that is unknown or not a positive integer."""
    factory: list[str] = []
    settings: dict[str, int] = {}
    for part in spec.split(","):
        name, eq, value = part.partition("=")
        if not eq:
            factory.append(part)
            continue
        name = name.strip()
        if name not in SETTINGS or not value.strip().isdigit() or int(value) < 1:
            raise ValueError(
                f"faiss: bad setting '{part}' in '{spec}': the settings are nprobe=N and "
                f"shortlist=N (positive integers) after the factory string"
            )
        settings[name] = int(value)
    return ",".join(factory) or "Flat", settings


def _tune(index: Any, nprobe: int = NPROBE) -> Any:
    inner = _inner(index)
    ivf = faiss.try_extract_index_ivf(inner)
    if ivf is not None:
        ivf.nprobe = min(ivf.nlist, nprobe)
        quantizer = faiss.downcast_index(ivf.quantizer)
        if hasattr(quantizer, "hnsw"):
            want = max(EF_SEARCH, QUANTIZER_EF_PER_PROBE * ivf.nprobe)
            quantizer.hnsw.efSearch = max(quantizer.hnsw.efSearch, want)
    if hasattr(inner, "hnsw"):
        inner.hnsw.efSearch = max(inner.hnsw.efSearch, EF_SEARCH)
    if hasattr(inner, "k_factor"):
        inner.k_factor = max(inner.k_factor, K_FACTOR)
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
        self.factory, settings = parse_spec(spec)
        self.nprobe = settings.get("nprobe", NPROBE)
        self.shortlist = settings.get("shortlist", SHORTLIST)
        try:
            probe = _new(self.factory, dim, self.nprobe)
        except RuntimeError as exc:
            raise ValueError(f"faiss: bad index factory '{self.factory}': {exc}") from None
        self.needs_training = not probe.is_trained
        self.train_at = _min_train(self.factory) if self.needs_training else 0
        self._index = _new("Flat", dim) if self.needs_training else probe
        self._gpu: Any = None
        self._mapped: str | None = None  # the file the index is memory-mapped from (read-only)
        self._exact: ExactRows | None = None  # exact rows of an IVF-PQ index (rescoring)

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

    @property
    def mapped(self) -> bool:
        """True while the index is searched from its memory-mapped file."""
        return self._mapped is not None

    def _writable(self) -> None:
        """Read a memory-mapped index into memory before it changes (a mapped one is
        read-only)."""
        if self._mapped is not None:
            self._index = _tune(_prepare(self._read(self._mapped, 0)), self.nprobe)
            self._mapped = None
            self._gpu = None

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self.checked_batch(ids, vectors, self.ids(), "faiss")
        self._writable()
        self._index.add_with_ids(vectors, ids)
        if self._exact is not None:
            self._exact.add(ids, vectors)
        self._gpu = None
        if self.staging and self.ntotal >= self.train_at:
            ids = self.ids()
            vectors = self.reconstruct(ids)
            self._train(ids, lambda at: vectors[at])

    @property
    def retrain_due(self) -> bool:
        """True once the index holds ``RETRAIN_GROWTH`` times the vectors it was trained with:
        the next save trains it again."""
        exact = self._exact
        return exact is not None and 0 < exact.trained_on * RETRAIN_GROWTH <= self.ntotal

    def _retrain_if_grown(self) -> None:
        """Train again on a sample spread over everything held, once the index holds
        ``RETRAIN_GROWTH`` times the vectors it was trained with (a writer, before it saves:
        a reader never pays for it)."""
        exact = self._exact
        if exact is not None and self.retrain_due:
            self._writable()
            ids = exact.ids()
            self._train(ids, lambda at: exact.get(ids[at]))
            self._gpu = None

    def _train(self, ids: np.ndarray, rows: Any) -> None:
        """A fresh index of the spec trained on a random sample spread over ``ids`` (not the
        first ones), then filled with every one of them; ``rows(positions)`` gives vectors."""
        n = len(ids)
        rng = np.random.default_rng(n)
        sample = np.sort(rng.choice(n, size=min(n, max(self.train_at, 1)), replace=False))
        index = _new(self.factory, self.dim, self.nprobe)
        index.train(np.ascontiguousarray(rows(sample), dtype=np.float32))
        exact = ExactRows(self.dim, trained_on=n) if _lossy(index) else None
        for start in range(0, n, ADD_CHUNK):
            part = np.ascontiguousarray(rows(np.arange(start, min(n, start + ADD_CHUNK))))
            index.add_with_ids(part.astype(np.float32, copy=False), ids[start : start + ADD_CHUNK])
            if exact is not None:
                exact.add(ids[start : start + ADD_CHUNK], part)
        self._index, self._exact = index, exact

    def remove(self, ids: np.ndarray) -> int:
        ids = np.intersect1d(self.ids(), np.asarray(ids, dtype=np.int64))
        if len(ids) == 0:
            return 0
        self._writable()
        self._gpu = None
        if self._exact is not None:
            self._exact.remove(ids)
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
        fresh = _tune(faiss.clone_index(self._index), self.nprobe)
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
        short = k if self._exact is None else max(k * K_FACTOR, self.shortlist)
        if self._exact is not None and self.ntotal <= SCAN_FACTOR * short:
            # a small index: every exact row costs little more than the shortlist's
            return self._scan(queries, k, self.ids() if allowed is None else allowed)
        if allowed is None:
            scores, ids = self._searcher().search(queries, short)
        else:
            allowed = np.ascontiguousarray(allowed, dtype=np.int64)
            sel = faiss.IDSelectorBatch(allowed)
            try:
                scores, ids = self._index.search(queries, short, params=_params(self._index, sel))
            except RuntimeError:  # the inner index takes no filter (PQ): score the allowed ones
                return self._scan(queries, k, allowed)
        if self._exact is not None:
            return self._rescore(queries, ids, k)
        return scores.astype(np.float32), ids.astype(np.int64)

    def _rescore(
        self, queries: np.ndarray, cands: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The best ``k`` of each query's candidates by their exact rows."""
        assert self._exact is not None
        m = len(queries)
        scores = np.full((m, k), -np.inf, np.float32)
        ids = np.full((m, k), -1, np.int64)
        for q in range(m):
            got = cands[q][cands[q] >= 0]
            if len(got) == 0:
                continue
            sims = self._exact.get(got) @ queries[q]
            top = np.argsort(-sims, kind="stable")[:k]
            scores[q, : len(top)] = sims[top]
            ids[q, : len(top)] = got[top]
        return scores, ids

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
        if self._exact is not None:
            try:
                return self._exact.get(ids)
            except KeyError as exc:
                raise RuntimeError(f"faiss: id {exc.args[0]} is not stored") from None
        return np.asarray(self._index.reconstruct_batch(ids), dtype=np.float32)

    def save(self, path: str) -> None:
        # Through a Python file: FAISS's own writer only prints a failed close (a full disk) and
        # leaves a short file behind; Python raises OSError(ENOSPC) for it.
        self._retrain_if_grown()
        with open(path, "wb") as fh:
            writer = faiss.PyCallbackIOWriter(fh.write)
            faiss.write_index(self._index, writer)
            del writer  # flushed
            if self._exact is not None:
                self._exact.write(fh, fh.tell())

    def load(self, path: str) -> None:
        # read_index returns the concrete, owning object; downcast_index would return a view
        # that dangles once this one is collected.
        index = self._read(path, MMAP)
        if index.d != self.dim:
            raise ValueError(f"faiss: {path} holds {index.d}-d vectors, expected {self.dim}")
        # only IVF lists are mapped (read-only); any other index was read whole
        self._mapped = path if any(isinstance(p, faiss.IndexIVF) for p in _parts(index)) else None
        if isinstance(index, faiss.IndexIDMap2) and _ivf(_inner(index)) is not None:
            index = _native_ivf(self._read(path, 0))  # rebuilt in memory
            self._mapped = None
        ivf = _ivf(index)
        if ivf is not None and ivf.direct_map.type != faiss.DirectMap.Hashtable:
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # reads only the lists' ids
        self._index = _tune(_prepare(index), self.nprobe)
        self._gpu = None
        self._exact = ExactRows.open(path, self.dim) if _lossy(self._index) else None
        if self._exact is not None and len(self._exact) != self.ntotal:
            raise ValueError(
                f"faiss: {path} holds {self.ntotal} vectors and {len(self._exact)} exact rows"
            )

    @staticmethod
    def _read(path: str, flags: int) -> Any:
        try:
            return faiss.read_index(path, flags)
        except RuntimeError as exc:
            why = _first_line(exc)
            raise ValueError(f"faiss: {path} is not a readable index ({why})") from None


def _first_line(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1].strip() if lines else type(exc).__name__
