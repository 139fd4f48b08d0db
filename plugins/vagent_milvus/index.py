"""Milvus behind the VectorIndex contract.

The vectors live in a Milvus collection (``id`` int64 primary key, ``vector`` float, inner
product), on a Milvus Lite file or a cluster, whichever the URI names; the same client code talks
to both. The index also keeps the set of ids it holds (8 bytes a vector), so counts and
membership need no round trip.

``save(path)`` writes a small manifest (URI, collection, dimension, the ids): the vectors stay in
Milvus. ``load(path)`` attaches to that collection and serves exactly the manifest's ids. It never
writes: vectors in the collection that the manifest does not list (added by a writer that died
before committing, or by a writer that committed since) are left alone and kept out of results;
the next ``save`` of a writer that loaded them deletes the ones it did not take up itself (``add``
upserts, so a reused id simply gets its new vector). An id of the manifest missing from the
collection is damage and raises ``ValueError``. Milvus keeps no old generations: a reader that
loads the manifest before the last commit finds the vectors that commit removed gone.
"""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import numpy as np

from vagent.components import VectorIndex

MAGIC = "vagent-milvus-1"
BATCH = 1000  # ids per query/insert/delete call (well under Milvus's per-call limits)
MAX_K = 16384  # Milvus's top-k limit


class MilvusIndex(VectorIndex):
    def __init__(self, spec: str, dim: int, collection: str | None = None) -> None:
        if not spec:
            raise ValueError("milvus: give a URI: milvus/<file.db> or milvus/http://host:19530")
        self.spec = spec
        self.dim = dim
        self.collection = collection or f"vagent_{uuid.uuid4().hex[:16]}"
        self._client: Any = None
        self._ids = np.zeros(0, np.int64)  # sorted
        self._garbage = np.zeros(0, np.int64)  # in the collection, not in this index

    def _connect(self) -> Any:
        if self._client is None:
            from pymilvus import MilvusClient

            self._client = MilvusClient(uri=self.spec)
        return self._client

    def _ensure(self) -> Any:
        client = self._connect()
        if not client.has_collection(self.collection):
            client.create_collection(
                self.collection,
                dimension=self.dim,
                metric_type="IP",
                auto_id=False,
                consistency_level="Strong",
            )
        return client

    @property
    def ntotal(self) -> int:
        return len(self._ids)

    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self.checked_batch(ids, vectors, self._ids, "milvus")
        if not len(ids):
            return
        client = self._ensure()
        for s in range(0, len(ids), BATCH):
            rows = [
                {"id": int(i), "vector": v.tolist()}
                for i, v in zip(ids[s : s + BATCH], vectors[s : s + BATCH])
            ]
            client.upsert(self.collection, rows)
        self._ids = np.union1d(self._ids, ids)
        self._garbage = np.setdiff1d(self._garbage, ids)

    def remove(self, ids: np.ndarray) -> int:
        ids = np.intersect1d(self._ids, np.asarray(ids, dtype=np.int64))
        if not len(ids):
            return 0
        self._delete(ids)
        self._ids = np.setdiff1d(self._ids, ids)
        return len(ids)

    def _delete(self, ids: np.ndarray) -> None:
        client = self._ensure()
        for s in range(0, len(ids), BATCH):
            client.delete(self.collection, ids=[int(i) for i in ids[s : s + BATCH]])

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        m = len(queries)
        k = max(k, 0)
        scores = np.zeros((m, k), np.float32)
        out = np.full((m, k), -1, np.int64)
        candidates = self._ids if allowed is None else np.intersect1d(self._ids, allowed)
        n = min(k, len(candidates), MAX_K)
        if m == 0 or n == 0:
            return scores, out
        kwargs: dict[str, Any] = {}
        limit = n
        if allowed is not None:
            kwargs["filter"] = f"id in [{','.join(str(int(i)) for i in candidates)}]"
        else:  # ask for enough to drop the vectors this index does not hold
            limit = min(n + len(self._garbage), MAX_K)
        hits = self._connect().search(
            self.collection,
            data=queries.tolist(),
            limit=limit,
            search_params={"metric_type": "IP"},
            output_fields=[],
            **kwargs,
        )
        for r, row in enumerate(hits):
            got = [h for h in row if not len(self._garbage) or int(h["id"]) not in self._gset]
            for c, hit in enumerate(got[:n]):
                out[r, c] = int(hit["id"])
                scores[r, c] = float(hit["distance"])
        return scores, out

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        out = np.zeros((len(ids), self.dim), np.float32)
        if not len(ids):
            return out
        missing = np.setdiff1d(ids, self._ids)
        if len(missing):
            raise KeyError(f"milvus: ids not in the index: {missing[:5].tolist()}")
        got: dict[int, list[float]] = {}
        client = self._connect()
        unique = np.unique(ids)
        for s in range(0, len(unique), BATCH):
            part = [int(i) for i in unique[s : s + BATCH]]
            for row in client.query(self.collection, ids=part, output_fields=["id", "vector"]):
                got[int(row["id"])] = row["vector"]
        for n, i in enumerate(ids.tolist()):
            out[n] = np.asarray(got[i], np.float32)
        return out

    @property
    def _gset(self) -> set[int]:
        return set(self._garbage.tolist())

    def save(self, path: str) -> None:
        if len(self._garbage):  # left by a writer that never committed: ours to clear now
            self._delete(self._garbage)
            self._garbage = np.zeros(0, np.int64)
        head = {"magic": MAGIC, "uri": self.spec, "collection": self.collection, "dim": self.dim}
        buf = io.BytesIO()
        np.save(buf, self._ids, allow_pickle=False)
        with open(path, "wb") as f:
            f.write(json.dumps(head).encode() + b"\n")
            f.write(buf.getvalue())

    def load(self, path: str) -> None:
        try:
            with open(path, "rb") as f:
                head = json.loads(f.readline())
                ids = np.load(io.BytesIO(f.read()), allow_pickle=False).astype(np.int64)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"milvus: {path} is not a readable manifest ({exc})") from None
        if not isinstance(head, dict) or head.get("magic") != MAGIC:
            raise ValueError(f"milvus: {path} is not a vagent Milvus manifest")
        if head.get("dim") != self.dim:
            raise ValueError(
                f"milvus: {path} holds {head.get('dim')}-d vectors, expected {self.dim}"
            )
        self.collection = str(head["collection"])
        self._client = None
        client = self._ensure()
        present = self._present(client)
        lost = np.setdiff1d(ids, present)
        if len(lost):
            raise ValueError(
                f"milvus: collection {self.collection} at {self.spec} lacks {len(lost)} vectors "
                f"that {path} lists (e.g. id {int(lost[0])})"
            )
        self._ids = np.sort(ids)
        self._garbage = np.setdiff1d(present, ids)

    def _present(self, client: Any) -> np.ndarray:
        parts = [np.zeros(0, np.int64)]
        it = client.query_iterator(self.collection, batch_size=BATCH, output_fields=["id"])
        while True:
            rows = it.next()
            if not rows:
                it.close()
                break
            parts.append(np.array([int(r["id"]) for r in rows], np.int64))
        return np.unique(np.concatenate(parts))
