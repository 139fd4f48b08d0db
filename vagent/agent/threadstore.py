"""A library's conversation threads: ``threads.sqlite``, opened safely, checked and repaired.

Threads hold the questions people asked, so the file is created readable by its owner only
(0600; SQLite gives its ``-wal``/``-shm`` files the same mode). Checkpoints are read back with
``threadserde.ThreadSerializer``, which rebuilds plain data only: a checkpoint naming any other
type is a *broken thread*, never code that runs. A file that SQLite cannot read leaves the
agent answering without keeping threads (``ThreadsUnusable``), and ``repair_threads`` saves
damaged files and threads aside (``threads.sqlite.broken-<UTC time>``) before dropping them.

LangGraph is imported only inside the functions that open the file (``threadserde``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vagent.agent.state import QAState
from vagent.errors import VagentError
from vagent.paths import home

THREADS_DB = "threads.sqlite"
_CHECKPOINT_COLUMNS = (
    "thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata"
)
_WRITE_COLUMNS = "thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, value"


class ThreadsUnusable(VagentError):
    """``threads.sqlite`` cannot be opened, read or written (not SQLite, damaged, read-only)."""


class BrokenThread(VagentError):
    """One thread's checkpoints cannot be read back (see ``threadserde``); others still work."""


def repair_hint(root: Path) -> str:
    """How to name the library at ``root`` on the command line: its name when it lives under
    ``$VAGENT_HOME``, else its folder."""
    try:
        if root.resolve().parent == home().resolve():
            return root.name
    except OSError:
        pass
    return str(root)


def create_private(path: Path) -> None:
    """Create ``path`` empty and readable by its owner only, unless it exists."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))


def unusable(path: Path, root: Path, why: BaseException | str) -> ThreadsUnusable:
    if isinstance(why, BaseException):
        why = f"{type(why).__name__}: {why}"
    return ThreadsUnusable(
        f"threads file {path} cannot be used ({why}); "
        f"run `vagent repair --library {repair_hint(root)}` to save it aside"
    )


SIDE_FILES = ("-wal", "-shm", "-journal")


def linked(path: Path) -> str | None:
    """Which of ``path`` and its SQLite side files is a symbolic link (SQLite would write
    through it, outside the library), or None."""
    for p in (path, *(path.with_name(path.name + s) for s in SIDE_FILES)):
        if p.is_symlink():
            return f"{p.name} is a symbolic link; threads are kept only in the library's own files"
    return None


def broken(path: Path, root: Path, thread_id: str, why: str) -> BrokenThread:
    return BrokenThread(
        f"thread {thread_id} in {path} cannot be read ({why}): ask without --thread to start "
        f"a new one, or run `vagent repair --library {repair_hint(root)}` to save it aside "
        "and drop it"
    )


@dataclass
class Threads:
    """An open ``threads.sqlite``: ``saver`` is the LangGraph checkpointer over ``conn``."""

    path: Path
    conn: sqlite3.Connection
    saver: Any

    def close(self) -> None:
        self.conn.close()


def _probe(conn: sqlite3.Connection) -> None:
    """Read one row of each table the checkpointer uses (raises sqlite3.Error if it cannot)."""
    conn.execute(f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints LIMIT 1").fetchall()
    conn.execute(f"SELECT {_WRITE_COLUMNS} FROM writes LIMIT 1").fetchall()


def open_threads(path: Path, root: Path) -> Threads:
    """Open (creating, 0600) the threads file ``path`` of the library at ``root``.

    Raises ``ThreadsUnusable`` (one line naming the file and `vagent repair`) when SQLite cannot
    use it; the caller then answers without keeping threads."""
    from vagent.agent.threadserde import ThreadSaver

    conn: sqlite3.Connection | None = None
    why = linked(path)
    if why is not None:
        raise unusable(path, root, why)
    try:
        create_private(path)
        conn = sqlite3.connect(path, check_same_thread=False)
        saver = ThreadSaver(conn, path=path, root=root)
        saver.setup()
        _probe(conn)
    except (sqlite3.Error, OSError) as exc:
        if conn is not None:
            conn.close()
        raise unusable(path, root, exc) from None
    return Threads(path, conn, saver)


class ThreadKeeper:
    """The agent's threads: ``threads.sqlite`` at ``path`` (None: threads are not kept).

    When SQLite cannot use the file, ``error`` says so and asks still run, without keeping
    their thread; continuing a named thread then fails with that one line."""

    def __init__(self, path: Path | None, root: Path) -> None:
        self.path = path
        self.root = root
        self.threads: Threads | None = None
        self.error: ThreadsUnusable | None = None
        if path is not None:
            try:
                self.threads = open_threads(path, root)
            except ThreadsUnusable as exc:
                self.error = exc

    @property
    def saver(self) -> Any:
        """The checkpointer to compile the graph with (None: no memory between asks)."""
        return self.threads.saver if self.threads is not None else None

    def _not_kept(self) -> str:
        return f"{self.error}; this answer is not kept in a thread"

    def invoke(
        self,
        graph: Any,
        plain: Callable[[], Any],
        inputs: QAState,
        config: dict[str, Any],
        thread_id: str | None,
    ) -> tuple[QAState, list[str]]:
        """Run ``graph`` (compiled with ``saver``), or ``plain()`` (compiled without one) when
        the file is unusable and no thread was named; the output and notes for the user."""
        if self.error is not None:
            if thread_id is not None:
                raise ThreadsUnusable(f"cannot continue thread {thread_id}: {self.error}")
            out: QAState = plain().invoke(inputs, config)
            return out, [self._not_kept()] if self.path is not None else []
        try:
            out = graph.invoke(inputs, config)
        except ThreadsUnusable as exc:  # the file broke while asking: answer without it
            if thread_id is not None:
                raise
            self.error = exc
            self.close()
            out = plain().invoke(inputs, config)
            return out, [self._not_kept()]
        return out, []

    def check_usable(self, thread_id: str) -> None:
        """Raise ``ThreadsUnusable`` when thread ``thread_id`` cannot be read for that reason."""
        if self.error is not None and self.path is not None:
            raise ThreadsUnusable(f"cannot read thread {thread_id}: {self.error}")

    def close(self) -> None:
        if self.threads is not None:
            self.threads.close()
            self.threads = None


# ---- check and repair -------------------------------------------------------------------------


def _whole_file_problem(path: Path) -> str | None:
    """Why SQLite cannot use the threads file ``path`` as LangGraph's, or None. Symbolic
    links are refused before SQLite opens anything."""
    why = linked(path)
    if why is not None:
        return why
    try:
        with _connect(path) as conn:
            rows = conn.execute("PRAGMA quick_check").fetchall()
            if [tuple(r) for r in rows] != [("ok",)]:
                return "damaged: " + "; ".join(str(r[0]) for r in rows[:3])
            q = "SELECT name FROM sqlite_master WHERE type='table'"
            tables = {r[0] for r in conn.execute(q)}
            if {"checkpoints", "writes"} <= tables:
                _probe(conn)
            elif tables & {"checkpoints", "writes"}:
                return "one of the tables checkpoints, writes is missing"
    except sqlite3.Error as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _broken_threads(conn: sqlite3.Connection) -> dict[str, str]:
    """Threads with a checkpoint or pending write that does not read back, with why."""
    from vagent.agent.threadserde import ThreadSerializer, UnreadableCheckpoint

    serde = ThreadSerializer()
    found: dict[str, str] = {}
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='checkpoints'").fetchall():
        return found
    rows = conn.execute("SELECT thread_id, type, checkpoint, metadata FROM checkpoints")
    for tid, kind, blob, meta in rows:
        if tid in found:
            continue
        try:
            serde.loads_typed((kind, blob))
            if meta is not None:
                json.loads(meta)
        except (UnreadableCheckpoint, ValueError, TypeError) as exc:
            found[str(tid)] = str(exc)
    for tid, kind, blob in conn.execute("SELECT thread_id, type, value FROM writes"):
        if tid in found:
            continue
        try:
            serde.loads_typed((kind, blob))
        except (UnreadableCheckpoint, ValueError, TypeError) as exc:
            found[str(tid)] = str(exc)
    return found


@contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(path)) as conn:
        yield conn


def _present(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def check_threads(root: Path) -> list[str]:
    """Problems with the threads of the library at ``root``, one line each (empty: none, or
    no threads file). Reads every checkpoint; writes nothing."""
    path = root / THREADS_DB
    if not _present(path):
        return []
    hint = repair_hint(root)
    why = _whole_file_problem(path)
    if why is not None:
        return [
            f"threads file {path} cannot be used ({why}): "
            f"`vagent repair --library {hint}` saves it aside"
        ]
    with _connect(path) as conn:
        bad = _broken_threads(conn)
    return [
        f"thread {tid} in {path} cannot be read ({reason}): "
        f"`vagent repair --library {hint}` saves it aside and drops it"
        for tid, reason in sorted(bad.items())
    ]


def _aside_name(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.broken-{stamp}")
    n = 1
    while _present(target):
        n += 1
        target = path.with_name(f"{path.name}.broken-{stamp}-{n}")
    return target


def repair_threads(root: Path) -> list[str]:
    """Save aside and drop what ``check_threads`` finds; one line per action (empty: nothing
    to do). A file SQLite cannot use is moved aside whole (with its ``-wal``/``-shm``), so
    the next ask starts a new one; broken threads are dropped after a copy of the whole file
    is saved aside. The caller holds the library's write lock if it wants one."""
    path = root / THREADS_DB
    if not _present(path):
        return []
    why = _whole_file_problem(path)
    if why is None:
        with _connect(path) as conn:
            bad = _broken_threads(conn)
            if not bad:
                return []
            target = _aside_name(path)
            create_private(target)
            with _connect(target) as copy:
                conn.backup(copy)
            marks = ",".join("?" * len(bad))
            with conn:
                conn.execute(f"DELETE FROM writes WHERE thread_id IN ({marks})", list(bad))
                conn.execute(f"DELETE FROM checkpoints WHERE thread_id IN ({marks})", list(bad))
        return [
            f"thread {tid} could not be read ({reason}): saved aside in {target.name}, dropped"
            for tid, reason in sorted(bad.items())
        ]
    target = _aside_name(path)
    os.replace(path, target)  # a symbolic link moves itself, never its target
    for suffix in SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if _present(side):
            os.replace(side, target.with_name(target.name + suffix))
    return [
        f"threads file {path.name} could not be used ({why}): saved aside as {target.name}; "
        "new threads start in a fresh file"
    ]
