"""Read benchmark annotation files as (line, entry) pairs so problems can name the line.

A JSON array gives each element with the line it starts on; a JSON object is one entry on
line 1; JSONL gives one entry a line; Parquet (read with pyarrow, when installed) gives one
entry a row, numbered from 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vagent.evaldata.items import Problem

ANNOTATION_SUFFIXES = (".json", ".jsonl", ".parquet")

Entries = list[tuple[int, Any]]


def expand(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for its .json/.jsonl/.parquet files, sorted."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.suffix.lower() in ANNOTATION_SUFFIXES))
        else:
            out.append(p)
    return out


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _array(text: str, start: int, file: str) -> tuple[Entries, list[Problem]]:
    """Elements of the array opening at ``start``, each with its first line."""
    decoder = json.JSONDecoder()
    entries: Entries = []
    pos, line, counted = _skip_ws(text, start + 1), 1, 0
    if pos < len(text) and text[pos] == "]":
        return entries, []
    while True:
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            return entries, [Problem(exc.lineno, f"bad JSON: {exc.msg}; stopped reading", file)]
        entries.append((line, value))
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            return entries, []
        lineno = text.count("\n", 0, pos) + 1
        return entries, [Problem(lineno, "bad JSON: expected ',' or ']'; stopped reading", file)]


def _jsonl(text: str, file: str) -> tuple[Entries, list[Problem]]:
    entries: Entries = []
    problems: list[Problem] = []
    for n, raw in enumerate(text.splitlines(), 1):
        raw = raw.strip()
        if not raw or raw.startswith("#"):
            continue
        try:
            entries.append((n, json.loads(raw)))
        except json.JSONDecodeError as exc:
            problems.append(Problem(n, f"bad JSON: {exc.msg} (column {exc.colno})", file))
    return entries, problems


def _parquet(path: Path) -> tuple[Entries, list[Problem]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return [], [
            Problem(0, "reading Parquet needs pyarrow: pip install 'vagent[eval]'", str(path))
        ]
    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises its own error types for bad files
        return [], [Problem(0, f"not a readable Parquet file: {exc}", str(path))]
    return [(n, row) for n, row in enumerate(rows, 1)], []


def read_entries(path: Path) -> tuple[Entries, list[Problem]]:
    """The entries of one annotation file; an unreadable file is one problem on line 0."""
    file = str(path)
    if path.suffix.lower() == ".parquet":
        return _parquet(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        return [], [Problem(0, f"cannot read: {reason or exc}", file)]
    if path.suffix.lower() == ".jsonl":
        return _jsonl(text, file)
    start = _skip_ws(text, 0)
    if start < len(text) and text[start] == "[":
        return _array(text, start, file)
    try:
        return [(text.count("\n", 0, start) + 1, json.loads(text))], []
    except json.JSONDecodeError as exc:
        if text.count("\n", start) > 0 and text[start : start + 1] == "{":
            return _jsonl(text, file)  # JSON Lines under a .json name
        return [], [Problem(exc.lineno, f"bad JSON: {exc.msg}", file)]
