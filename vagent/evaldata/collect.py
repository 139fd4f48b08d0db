"""What every converter shares: reading a field, finding a video, collecting entries into items
(one :class:`Problem` per entry that cannot be converted), and one problem for the entries with
no public answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from vagent.evaldata.items import EvalItem, Problem, drop_duplicate_qids, parse_record
from vagent.evaldata.sources import Entries, expand, read_entries

Result = tuple[list[EvalItem], list[Problem]]
Converter = Callable[[list[Path], Path, Path | None], Result]


def get_field(entry: Any, key: str) -> Any:
    if not isinstance(entry, Mapping):
        raise ValueError(f"entry is {type(entry).__name__}, not a JSON object")
    value = entry.get(key)
    if value is None or value == "":
        raise ValueError(f"missing {key!r}")
    return value


def video_path(videos: Path, name: str, *subdirs: str) -> str:
    """``videos/<subdir>/name``: the first that exists, else the first candidate."""
    stem = Path(name)
    names = [stem]
    if stem.suffix == ".mp4":  # releases mix .mp4/.MP4/.mkv (lmms-eval checks all three)
        names += [stem.with_suffix(".MP4"), stem.with_suffix(".mkv")]
    candidates = [videos / d / n for d in (*subdirs, "") for n in names]
    for c in candidates:
        try:
            if c.is_file():
                return str(c)
        except OSError:  # a name the file system refuses (too long): not there
            continue
    return str(candidates[0])


def collect(
    path: Path,
    entries: Entries,
    make: Callable[[int, Any], dict[str, Any]],
    keep: Callable[[Any], bool] = lambda entry: True,
    benchmark: str | None = None,
) -> Result:
    """Items from the entries ``keep`` accepts; ``make(n, entry)`` gets the 1-based entry number.

    A problem names the entry's line and number (minified JSON puts every entry on line 1).
    """
    items: list[EvalItem] = []
    problems: list[Problem] = []
    for n, (line, entry) in enumerate(entries, 1):
        if not keep(entry):
            continue
        try:
            rec = make(n, entry)
            if benchmark:
                rec["benchmark"] = benchmark
            items.append(parse_record(rec, line, lenient=True))
        except ValueError as exc:
            problems.append(Problem(line, f"entry {n}: {exc}", str(path)))
    return items, problems


def run_files(paths: list[Path], one: Callable[[Path, Entries], Result]) -> Result:
    items: list[EvalItem] = []
    problems: list[Problem] = []
    for path in expand(paths):
        entries, unread = read_entries(path)
        got, bad = one(path, entries)
        items += got
        problems += unread + bad
    items, dups = drop_duplicate_qids(items)
    return items, problems + dups


def lacks(
    key: str, known: Callable[[Any], bool] = lambda v: v is not None
) -> Callable[[Any], bool]:
    return lambda e: isinstance(e, Mapping) and not known(e.get(key))


def unanswered(
    path: Path, entries: Entries, lacking: Callable[[Any], bool], why: str
) -> list[Problem]:
    """One problem for all the entries without a public answer (not thousands)."""
    lines = [line for line, e in entries if lacking(e)]
    if not lines:
        return []
    return [Problem(lines[0], f"{len(lines)} of {len(entries)} entries {why}; skipped", str(path))]
