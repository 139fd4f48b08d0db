"""Indexing from the server (``vagent serve --allow-index DIR``): one background job at a time,
of files inside the allowed folders only, with its progress file by file.

A request names files or folders (absolute, or relative to the first allowed folder). Each is
resolved (links followed) and must lie inside an allowed folder, else the whole request is
refused before anything is read or written. Files found in folders are checked again the same
way (a link inside an allowed folder that leads out of it is refused by name). Files land one
at a time through ``Library.index`` with the library's pinned settings, so every guarantee of
``vagent index`` holds: searches go on, a bad file is one line and the rest go on.
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

MAX_PATHS = 100
MAX_PATH_CHARS = 4096


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

    def close(self) -> None:
        """Stop after the file being indexed (a file lands whole or not at all)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(0.5)

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
            for i, f in enumerate(files):
                if self._stop.is_set():
                    state = "stopped"
                    break
                self._update(current=Path(f).name)
                report = lib.index([f], progress=False)
                with self._lock:
                    s = self._state
                    s["indexed"] += report.indexed + report.grown
                    s["replaced"] += report.replaced
                    s["skipped"] += report.skipped + report.text_redone
                    s["moved"] += [{"from": a, "to": b} for a, b in report.moved]
                    s["failed"] += [{"path": p, "reason": r} for p, r in report.failed]
                    s["done"] = i + 1
                verdict = "failed" if report.failed else "done"
                self.on_event(f"index: {i + 1}/{len(files)} {Path(f).name} {verdict}")
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
