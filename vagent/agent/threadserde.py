"""The serializer of ``threads.sqlite``: writes checkpoints as LangGraph does, reads back data only.

LangGraph's default serializer rebuilds any Python object a checkpoint names (msgpack extension
types carry a module, a name and arguments, and reading calls ``module.name(*args)``), so anyone
who can write a library's ``threads.sqlite`` could run code on the next follow-up question.
vagent's thread state is plain data (``vagent.agent.state``: strings, numbers, lists, dicts),
so ``ThreadSerializer`` reads back plain msgpack and only the few LangGraph control types a
graph may write (``ALLOWED``); any other extension type, a pickle, or bytes that do not decode
make ``UnreadableCheckpoint``, and nothing of that checkpoint is built. Imported only where
threads are opened (it imports LangGraph).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ormsgpack
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from langgraph.checkpoint.sqlite import SqliteSaver

from vagent.agent.threadstore import broken, unusable
from vagent.errors import VagentError

# (module, name) of the extension types a checkpoint may hold: LangGraph's own control values.
ALLOWED = frozenset(
    {
        ("langgraph.types", "Send"),
        ("langgraph.types", "Interrupt"),
        ("langgraph.types", "Overwrite"),
        ("langgraph.types", "Command"),
    }
)
_CONSTRUCTORS = {0, 1, 2, 4, 5}  # LangGraph's ext codes that build module.name(...)
_DELTA = 7  # a wrapped snapshot of a channel: plain msgpack inside


class UnreadableCheckpoint(VagentError):
    """A stored checkpoint names a type vagent never writes, or does not decode."""


class ThreadSerializer(JsonPlusSerializer):
    """LangGraph's msgpack format for writing; strict, data-only reading (see the module)."""

    def __init__(self) -> None:
        super().__init__(allowed_msgpack_modules=None)  # strict: inner hooks build safe types only

    def with_msgpack_allowlist(self, extra_allowlist: Any) -> ThreadSerializer:
        return self  # our allowlist is fixed; schema-derived additions are not needed

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        kind, raw = data
        if kind in ("null", "bytes", "bytearray"):
            return super().loads_typed(data)
        if kind == "json":  # plain JSON: LangChain's constructor objects are not revived
            try:
                return json.loads(raw)
            except ValueError as exc:
                raise UnreadableCheckpoint(f"JSON that does not decode ({exc})") from None
        if kind != "msgpack":
            raise UnreadableCheckpoint(f"a value stored as {kind!r}, which vagent never writes")
        refused: list[str] = []
        try:
            return ormsgpack.unpackb(
                raw, ext_hook=self._hook(refused), option=ormsgpack.OPT_NON_STR_KEYS
            )
        except Exception as exc:  # ormsgpack reports a failed hook as ValueError
            why = refused[0] if refused else f"msgpack that does not decode ({exc})"
            raise UnreadableCheckpoint(why) from None

    def _hook(self, refused: list[str]) -> Any:
        inner = self._unpack_ext_hook

        def hook(code: int, payload: bytes) -> Any:
            if code == _DELTA:  # a channel snapshot (LangGraph's own wrapper) of plain data
                value = ormsgpack.unpackb(payload, ext_hook=hook, option=ormsgpack.OPT_NON_STR_KEYS)
                return _DeltaSnapshot(value)
            if code not in _CONSTRUCTORS:
                refused.append(f"an extension value of code {code}, which vagent never writes")
                raise ValueError(refused[-1])
            tup = ormsgpack.unpackb(payload, ext_hook=hook, option=ormsgpack.OPT_NON_STR_KEYS)
            name = tuple(str(x) for x in tup[:2]) if isinstance(tup, list | tuple) else ()
            if name not in ALLOWED:
                refused.append(
                    f"an object of type {'.'.join(name) or '?'}, which vagent never writes"
                )
                raise ValueError(refused[-1])
            return inner(code, payload)

        return hook


class ThreadSaver(SqliteSaver):
    """LangGraph's SQLite checkpointer with ``ThreadSerializer``; its failures become one-line
    vagent errors: ``BrokenThread`` (this thread does not read back) or ``ThreadsUnusable``
    (SQLite cannot use the file)."""

    def __init__(self, conn: sqlite3.Connection, *, path: Path, root: Path) -> None:
        super().__init__(conn, serde=ThreadSerializer())
        self.path = path
        self.root = root

    def with_allowlist(self, extra_allowlist: Any) -> ThreadSaver:
        return self  # ThreadSerializer's allowlist is fixed

    @contextmanager
    def _errors(self, config: Any, reading: bool = True) -> Iterator[None]:
        tid = str(((config or {}).get("configurable") or {}).get("thread_id", "?"))
        try:
            yield
        except UnreadableCheckpoint as exc:
            raise broken(self.path, self.root, tid, str(exc)) from None
        except sqlite3.Error as exc:
            raise unusable(self.path, self.root, exc) from None
        except (ValueError, TypeError, KeyError) as exc:  # metadata that is not JSON, bad rows
            if not reading:
                raise
            raise broken(self.path, self.root, tid, f"{type(exc).__name__}: {exc}") from None

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        with self._errors(config):
            return super().get_tuple(config)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        with self._errors(config):
            yield from super().list(config, filter=filter, before=before, limit=limit)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        with self._errors(config, reading=False):
            return super().put(config, checkpoint, metadata, new_versions)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        with self._errors(config, reading=False):
            super().put_writes(config, writes, task_id, task_path)
