"""Built-in vector index plugin: FAISS. Ids ``faiss`` or ``faiss/<factory string>``."""

from __future__ import annotations

from typing import Any

from vagent.hookspecs import hookimpl


def _factory(spec: str | None, dim: int, **_: Any) -> Any:
    from vagent_faiss.index import FaissIndex

    return FaissIndex(spec or "Flat", dim)


@hookimpl
def vagent_register_indexes(register: Any) -> None:
    register(
        "faiss",
        _factory,
        description="FAISS, inner product; faiss/<factory> e.g. Flat (default), IVF1024,Flat, "
        "HNSW32, then optional search settings nprobe=N, shortlist=N "
        "(IVF4096_HNSW32,PQ64,nprobe=64); indexes that need training stay exact until enough "
        "vectors arrive",
    )
