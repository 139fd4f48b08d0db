"""Evaluation items: one question about one video, read from and written to JSONL.

One JSON object a line: ``{"video", "question", "answer", "options"?, "category"?, "duration"?,
"qid"?, "length"?, "benchmark"?, "types"?, "subtitles"?, "scoring_points"?, "defect"?}``. A
line with a ``defect`` (written by ``vagent convert``) is kept as its benchmark's official
scoring keeps it: repeated options stand, and an answer that is not among the options (or
empty) is never right. ``scoring_points`` (MLVU's open tasks) are passed to the judge.
Blank lines and lines starting with ``#`` are skipped; a malformed line is
reported as a :class:`Problem` with its line number and the rest are read. A relative ``video``
is relative to the JSONL file's folder.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vagent.errors import VagentError
from vagent.evaldata.answers import (
    LETTERS,
    choice_letter,
    clean_options,
    open_answer,
    repeated_option,
)

BUCKETS = ("<2 min", "2-15 min", "15-60 min", ">60 min")
# Video-MME gives a length label instead of a duration: short (< 2 min), medium (4-15 min),
# long (30-60 min), per its README (github.com/BradyFU/Video-MME).
LABEL_BUCKETS = {"short": "<2 min", "medium": "2-15 min", "long": "15-60 min"}


def length_bucket(seconds: float | None, label: str | None = None) -> str:
    """The length bucket of a video: from its duration, else from a benchmark's length label.

    Edges: under 120 s is "<2 min", up to 900 s "2-15 min", up to 3600 s "15-60 min", longer
    ">60 min". A label that is a bucket name or a Video-MME label maps to its bucket; another
    label comes back as it is; nothing known gives "unknown".
    """
    if seconds is not None:
        if seconds < 120:
            return BUCKETS[0]
        if seconds <= 900:
            return BUCKETS[1]
        if seconds <= 3600:
            return BUCKETS[2]
        return BUCKETS[3]
    if label:
        return label if label in BUCKETS else LABEL_BUCKETS.get(label.strip().lower(), label)
    return "unknown"


@dataclass
class EvalItem:
    """One question. ``answer`` is a letter when ``options`` is set, else free text."""

    video: str
    question: str
    answer: str
    options: list[str] | None = None
    category: str | None = None
    duration: float | None = None
    qid: str | None = None
    line: int = 0  # where it came from (JSONL line, or the entry's line in an annotation file)
    length: str | None = None  # a benchmark's own length label (Video-MME: short/medium/long)
    benchmark: str | None = None  # the converter's name: lvbench, videomme, mlvu, ...
    types: list[str] | None = None  # LVBench: the question's types (one item, several types)
    subtitles: str | None = None  # the benchmark's subtitle file for this video
    subtitles_offset: float | None = None  # seconds the subtitles' clock is ahead of the video
    defect: str | None = None  # a data defect kept as official scoring keeps it
    scoring_points: list[str] | None = None  # what a good open answer covers (MLVU): for judges

    @property
    def scorable(self) -> bool:
        """False when the answer is not among the options: such an item is always wrong."""
        return not (self.options is not None and self.answer == "")

    @property
    def is_choice(self) -> bool:
        return self.options is not None

    @property
    def answer_text(self) -> str:
        """The correct option's text (multiple choice) or the free-text answer."""
        if self.options is None or not self.scorable:
            return self.answer
        return self.options[LETTERS.index(self.answer)]

    @property
    def bucket(self) -> str:
        return length_bucket(self.duration, self.length)

    def to_record(self, base: Path | None = None) -> dict[str, Any]:
        """The JSONL object; ``video`` relative to ``base`` when it lies under it."""
        video = self.video
        if base is not None:
            absolute = Path(video).expanduser().absolute()
            try:
                video = absolute.relative_to(base.absolute()).as_posix()
            except ValueError:
                video = str(absolute)
        rec: dict[str, Any] = {"video": video, "question": self.question}
        if self.options is not None:
            rec["options"] = list(self.options)
        rec["answer"] = self.answer
        keys = ("category", "duration", "qid", "length", "benchmark", "types", "subtitles")
        for key in (*keys, "subtitles_offset"):
            value = getattr(self, key)
            if value is not None:
                rec[key] = value
        if self.scoring_points is not None:
            rec["scoring_points"] = list(self.scoring_points)
        if self.defect is not None:
            rec["defect"] = self.defect
        return rec


@dataclass(frozen=True)
class Problem:
    """A line (or annotation entry) that was skipped, and why."""

    line: int
    reason: str
    file: str | None = None

    def __str__(self) -> str:
        return f"{self.file or '-'}:{self.line}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "reason": self.reason}


def _text(rec: Mapping[str, Any], key: str) -> str | None:
    value = rec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{key} is {type(value).__name__}, not text")
    return str(value).strip() or None


def _duration(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"duration is {type(value).__name__}, not a number of seconds")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"duration {value!r} is not a number of seconds")
    return float(value)


def _types(value: Any, what: str = "types") -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} is not a list of text")
    return [v.strip() for v in value if v.strip()] or None


def _choice(rec: Mapping[str, Any], lenient: bool) -> tuple[list[str], str, str | None]:
    """Options, answer letter and defect; lenient keeps defects as official scoring does."""
    options = clean_options(rec["options"], allow_repeats=lenient)
    defects = [repeated_option(options)] if lenient else []
    try:
        if rec.get("answer") in (None, ""):
            raise ValueError("answer is empty")
        answer = choice_letter(rec["answer"], options)
    except ValueError as exc:
        if not lenient:
            raise
        answer = ""
        defects.append(f"{exc}; counted as wrong")
    found = "; ".join(d for d in defects if d)
    stored = rec.get("defect")
    return options, answer, (stored if isinstance(stored, str) and stored else found or None)


def parse_record(
    rec: Any, line: int = 0, base: Path | None = None, lenient: bool = False
) -> EvalItem:
    """Check one JSONL object and normalise it; ``ValueError`` says what is wrong.

    ``base`` is the folder a relative ``video`` is resolved against. ``lenient`` (or a
    ``defect`` in the record) keeps a multiple-choice item with repeated options or an answer
    that is not among them, as the benchmarks' official scripts count it.
    """
    if not isinstance(rec, Mapping):
        raise ValueError(f"not a JSON object but {type(rec).__name__}")
    lenient = lenient or bool(rec.get("defect"))
    needed = ("video", "question") if lenient and rec.get("options") is not None else None
    missing = [k for k in needed or ("video", "question", "answer") if rec.get(k) in (None, "")]
    if missing:
        raise ValueError("missing " + ", ".join(missing))
    video, question = _text(rec, "video"), _text(rec, "question")
    if not video or not question:
        raise ValueError("missing " + ("video" if not video else "question"))
    path = Path(video).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    options: list[str] | None = None
    defect: str | None = None
    if rec.get("options") is None:
        answer = open_answer(rec["answer"])
    else:
        options, answer, defect = _choice(rec, lenient)
    subtitles = _text(rec, "subtitles")
    return EvalItem(
        video=str(path),
        question=question,
        answer=answer,
        options=options,
        category=_text(rec, "category"),
        duration=_duration(rec.get("duration")),
        qid=_text(rec, "qid"),
        line=line,
        length=_text(rec, "length"),
        benchmark=_text(rec, "benchmark"),
        types=_types(rec.get("types")),
        subtitles=subtitles,
        subtitles_offset=_duration(rec.get("subtitles_offset")),
        defect=defect,
        scoring_points=_types(rec.get("scoring_points"), "scoring_points"),
    )


def drop_duplicate_qids(
    items: list[EvalItem], file: str | None = None
) -> tuple[list[EvalItem], list[Problem]]:
    """Keep the first item of each ``qid``; report the others."""
    first: dict[str, int] = {}
    kept: list[EvalItem] = []
    problems: list[Problem] = []
    for item in items:
        if item.qid is not None and item.qid in first:
            problems.append(
                Problem(
                    item.line, f"duplicate qid {item.qid!r} (first on line {first[item.qid]})", file
                )
            )
            continue
        if item.qid is not None:
            first[item.qid] = item.line
        kept.append(item)
    return kept, problems


def read_jsonl(path: str | Path) -> tuple[list[EvalItem], list[Problem]]:
    """The items of a JSONL file and one :class:`Problem` per skipped line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VagentError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    base = path.expanduser().absolute().parent
    items: list[EvalItem] = []
    problems: list[Problem] = []
    for n, raw in enumerate(data.splitlines(), 1):
        try:
            text = raw.decode("utf-8-sig" if n == 1 else "utf-8").strip()
        except UnicodeDecodeError:
            problems.append(Problem(n, "not UTF-8 text", str(path)))
            continue
        if not text or text.startswith("#"):
            continue
        try:
            items.append(parse_record(json.loads(text), n, base))
        except json.JSONDecodeError as exc:
            problems.append(Problem(n, f"bad JSON: {exc.msg} (column {exc.colno})", str(path)))
        except ValueError as exc:
            problems.append(Problem(n, str(exc), str(path)))
    items, dups = drop_duplicate_qids(items, str(path))
    return items, sorted(problems + dups, key=lambda p: p.line)


def sha256_of(path: str | Path) -> str:
    """The file's sha256 (hex), read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_jsonl(items: Iterable[EvalItem], path: str | Path, header: Iterable[str] = ()) -> int:
    """Write items as JSONL (atomically); videos under the file's folder are stored relative.

    ``header`` lines are written first as ``# `` comments (readers skip them; ``vagent eval``
    reports the ``# annotation <sha256> <file>`` ones). Returns how many items were written.
    """
    path = Path(path).expanduser()
    folder = path.absolute().parent
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{path.name}.tmp"
    count = 0
    try:
        with tmp.open("w", encoding="utf-8") as f:
            for line in header:
                f.write("# " + " ".join(line.split()) + "\n")
            for item in items:
                f.write(json.dumps(item.to_record(folder), ensure_ascii=False) + "\n")
                count += 1
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count
