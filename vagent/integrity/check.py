"""``vagent check``: what is wrong with a library, one line per finding, writing nothing.

Looks at the catalog file (SQLite's integrity check), each vector file of the committed
generation (present, checksum, readable, ids against the catalog rows), the stored KV caches
and the conversation threads (through the modules that own them, when they are installed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vagent.catalog.store import CatalogDamaged
from vagent.integrity.owner import read_marker, repair_hint
from vagent.integrity.scan import catalog_problems, scan_vectors
from vagent.vectors import foreign_files, parse_record, tag_of

if TYPE_CHECKING:
    from vagent.library import Library


@dataclass
class Report:
    """Findings (``problems``: damage to repair; ``notes``: facts worth knowing) and, for
    repair, ``actions`` taken."""

    library: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "library": self.library,
            "ok": self.ok,
            "checked": self.checked,
            "problems": self.problems,
            "notes": self.notes,
            "actions": self.actions,
        }


def optional(report: Report, area: str, run: Callable[[], list[str]]) -> list[str]:
    """Run another module's check or repair; a module not installed yet is a note."""
    try:
        lines = run()
    except ImportError as exc:
        report.notes.append(f"{area}: not checked ({exc})")
        return []
    report.checked.append(area)
    return lines


def check_library(lib: Library) -> Report:
    """Everything ``vagent check`` reports. Raises LibraryNotFound when there is no library."""
    report = Report(lib.name)
    problems = catalog_problems(lib.location.db_url)
    if problems is None:
        report.notes.append("catalog: not SQLite; its database server keeps its integrity")
    else:
        report.checked.append("catalog")
        report.problems += problems
    try:
        row = lib.settings()
        check_vectors(lib, row, report)
    except CatalogDamaged as exc:
        if not report.problems:
            report.problems.append(str(exc))
        report.notes.append("vectors, KV caches: not checked (the catalog cannot be read)")
        row = None
    if row is not None:
        report.problems += optional(report, "kv", lambda: _check_kv(lib))
    report.problems += optional(report, "threads", lambda: _check_threads(lib))
    return report


def check_vectors(lib: Library, row: Any, report: Report) -> None:
    vectors = lib._make_vectors(row)
    report.checked.append("vectors")
    hint = repair_hint(lib.location)
    for state in scan_vectors(lib.catalog, row, vectors):
        if not state.ok:
            report.problems.append(f"{state.line()}: `{hint}` rebuilds it")
        elif row.generation and not state.checksummed:
            report.notes.append(
                f"{state.path.name}: no checksum recorded (written by an older vagent; the "
                f"next write records one)"
            )
    record = parse_record(row.vector_files) or {}
    mine = set(record.get("adopted") or [])
    for entry in (record, record.get("previous") or {}):
        mine |= {f["name"] for f in (entry.get("files") or {}).values()}
    others = [p for p in foreign_files(lib.root, tag_of(row.uid)) if p.name not in mine]
    if others:
        report.notes.append(
            f"{len(others)} vector files in {lib.root} are not this library's (left alone): "
            + ", ".join(p.name for p in others[:3])
            + (" ..." if len(others) > 3 else "")
        )
    marker = read_marker(lib.root)
    if marker is not None and marker.get("uid") != row.uid:
        report.problems.append(
            f"{lib.root / 'library.json'} names library '{marker.get('library')}' of another "
            f"catalog: this folder is not this library's"
        )


def _check_kv(lib: Library) -> list[str]:
    from vagent.kv.verify import check_kv

    return list(check_kv(lib))


def _check_threads(lib: Library) -> list[str]:
    from vagent.agent.threadstore import check_threads

    return list(check_threads(lib.root))
