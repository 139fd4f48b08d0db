"""Vector index plugin: Milvus through pymilvus. Id ``milvus/<uri>``: a Milvus Lite file
(``milvus/./vectors.db``) or a cluster (``milvus/http://milvus:19530``)."""

from __future__ import annotations

from typing import Any

from vagent.hookspecs import hookimpl


def _factory(spec: str | None, dim: int, **_: Any) -> Any:
    from vagent_milvus.index import MilvusIndex

    return MilvusIndex(spec or "", dim)


@hookimpl
def vagent_register_indexes(register: Any) -> None:
    register(
        "milvus",
        _factory,
        description="Milvus (pymilvus), inner product; milvus/<uri>: a Milvus Lite file "
        "(small libraries, tests) or a cluster http://host:19530 shared by many machines",
    )
