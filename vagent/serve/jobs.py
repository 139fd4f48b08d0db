"""Indexing from the server (``vagent serve --allow-index DIR``): one background job at a time,
of files inside the allowed folders only, with its progress file by file.

A request names files or folders (absolute, or relative to the first allowed folder). Each is
resolved (links followed) and must lie inside an allowed folder, else the whole request is
refused before anything is read or written. Files found in folders are checked again the same
way (a link inside an allowed folder that leads out of it is refused by name). The files go
through one ``Library.index`` call with the library's pinned settings (the vectors loaded once,
not once per file), so every guarantee of ``vagent index`` holds: files land one at a time,
searches go on, a bad file is one line and the rest go on. Progress is kept file by file; on
shutdown the job stops after the file in progress, which lands whole.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vagent.errors import VagentError
from vagent.ingest.discover import discover, printable
from vagent.library import Library
from vagent.types import IndexReport

MAX_PATHS = 100
MAX_PATH_CHARS = 4096
STOP_WAIT = 120.0  # seconds shutdown waits for the file being indexed to land


class JobRefused(Exception):
    """The request cannot start a job: ``status`` (HTTP) and one line saying why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _inside(path: str, roots: Sequence[str]) -> bool:
    return any(os.path.commonpath([path, r]) == r for r in roots)


class IndexJobs:
    """Background indexing of the library at ``root`` from paths inside ``roots``."""

    def __init__(
        self,
        root: Path,
        db: str | None,
        roots: Sequence[str | os.PathLike[str]],
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.root, self.db = root, db
        self.roots = [os.path.realpath(r) for r in roots]
        self.on_event = on_event or (lambda _: None)
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {"state": "idle"}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._t0 = 0.0

    # ---- requests ---------------------------------------------------------------------------

    def resolve(self, paths: Sequence[str]) -> list[str]:
        """Each path resolved (links followed) and checked to lie inside an allowed folder;
        JobRefused (one line) for the first that does not."""
        if not paths:
            raise JobRefused(422, "paths: give at least one file or folder to index")
        if len(paths) > MAX_PATHS:
            raise JobRefused(422, f"paths: at most {MAX_PATHS} per request")
        out = []
        for raw in paths:
            if not raw or len(raw) > MAX_PATH_CHARS or "\x00" in raw:
                raise JobRefused(422, "paths: each must be 1 to 4096 characters, no NUL")
            try:
                raw.encode("utf-8")
            except UnicodeEncodeError:
                raise JobRefused(422, "paths: each must be valid UTF-8 text") from None
            p = Path(raw).expanduser()
            real = os.path.realpath(p if p.is_absolute() else Path(self.roots[0]) / p)
            if not _inside(real, self.roots):
                raise JobRefused(
                    403,
                    f"{raw[:200]} is outside the folders this server may index "
                    f"(--allow-index {' '.join(self.roots)})",
                )
            out.append(real)
        return out

    def start(self, paths: Sequence[str]) -> dict[str, Any]:
        """Start indexing ``paths``; JobRefused when one is running or a path is refused."""
        files = self.resolve(paths)
        with self._lock:
            if self._state["state"] == "running":
                s = self._state
                raise JobRefused(
                    409,
                    f"an indexing job is running ({s['done']} of {s['files']} files); "
                    "one at a time: wait for it (GET /api/index)",
                )
            self._stop.clear()
            self._state = {
                "state": "running",
                "paths": files,
                "files": 0,
                "done": 0,
                "current": None,
                "indexed": [],
                "replaced": [],
                "skipped": [],
                "moved": [],
                "failed": [],
                "error": None,
                "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "seconds": 0.0,
            }
            self._t0 = time.perf_counter()
            self._thread = threading.Thread(
                target=self._run, args=(files,), name="vagent-index", daemon=True
            )
            self._thread.start()
            return self._snapshot()

    def status(self) -> dict[str, Any]:
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> dict[str, Any]:
        s = {k: list(v) if isinstance(v, list) else v for k, v in self._state.items()}
        if s["state"] == "running":
            s["seconds"] = round(time.perf_counter() - self._t0, 3)
        return s

    def close(self, wait: float = STOP_WAIT) -> None:
        """Stop after the file being indexed, waiting up to ``wait`` seconds for it to land
        (whole). A file still going then does not land at all: the next run indexes it."""
        self._stop.set()
        t = self._thread
        if t is None or not t.is_alive():
            return
        now = self.status().get("current") or "the file in progress"
        self.on_event(f"index: stopping after {now}; waiting up to {wait:.0f} s for it to land")
        t.join(wait)
        if t.is_alive():
            self.on_event(f"index: {now} did not land within {wait:.0f} s; index it again")

    # ---- the job ----------------------------------------------------------------------------

    def _update(self, **fields: Any) -> None:
        with self._lock:
            self._state.update(fields)

    def _fail(self, path: str, reason: str) -> None:
        with self._lock:
            self._state["failed"].append({"path": printable(path), "reason": reason})
        self.on_event(f"index: {printable(path)}: {reason}")

    def _run(self, paths: list[str]) -> None:
        lib = Library.open(self.root, db=self.db)  # its own catalog connection and encoders
        state = "done"
        try:
            row = lib.settings()
            found, bad = discover(paths, audio=row.asr is not None)
            for path, reason in bad:
                self._fail(path, reason)
            files = []
            for f in found:
                if _inside(os.path.realpath(f), self.roots):
                    files.append(f)
                else:
                    self._fail(f, "a link out of the folders this server may index; not read")
            self._update(files=len(files))
            self.on_event(f"index: {len(files)} files to look at")
            if files:
                stopped = self._index(lib, files)
                state = "stopped" if stopped else state
        except (VagentError, OSError, ValueError) as exc:
            state = "failed"
            self._update(error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            self.on_event(f"index: stopped: {self._state['error']}")
        except Exception as exc:  # a bug: one line here, the server goes on
            state = "failed"
            self._update(error=f"internal error ({type(exc).__name__}); see the server's log")
            self.on_event(f"index: internal error: {type(exc).__name__}: {exc}")
        finally:
            lib.close()
            with self._lock:
                self._state.update(
                    state=state,
                    current=None,
                    seconds=round(time.perf_counter() - self._t0, 3),
                )

    def _index(self, lib: Library, files: list[str]) -> bool:
        """``files`` through one ``Library.index`` call, the state updated after each file;
        True when the job was stopped before the last one."""
        with self._lock:
            failed_before = list(self._state["failed"])
        n = len(files)
        now: list[tuple[str, int]] = []  # the file in progress, failures before it

        def settle(report: IndexReport) -> None:
            """The file in progress is done: its outcome into the state, one line."""
            if not now:
                return
            path, failed = now.pop()
            with self._lock:
                s = self._state
                s["indexed"] = report.indexed + report.grown
                s["replaced"] = list(report.replaced)
                s["skipped"] = report.skipped + report.text_redone
                s["moved"] = [{"from": a, "to": b} for a, b in report.moved]
                s["failed"] = failed_before + [{"path": p, "reason": r} for p, r in report.failed]
                s["done"] += 1
                done = s["done"]
            verdict = "failed" if len(report.failed) > failed else "done"
            self.on_event(f"index: {done}/{n} {Path(path).name} {verdict}")

        def before(path: str, report: IndexReport) -> bool:
            settle(report)
            if self._stop.is_set():
                return False
            now.append((path, len(report.failed)))
            self._update(current=Path(path).name)
            return True

        report = lib.index(files, progress=False, before_file=before)
        settle(report)
        return self._stop.is_set() and self.status()["done"] < n
