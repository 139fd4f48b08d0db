"""E.T.Bench's multiple-choice tasks (github.com/PolyU-ChenLab/ETBench; files:
huggingface.co/datasets/PolyU-ChenLab/ETBench).

``annotations/etbench_txt_v1.0.json`` (or the per-task files in ``annotations/txt/``) is a list
of ``{"version", "idx", "task", "source", "video", "duration", "src"?, "tgt"?, "p"?, "o"?,
"g"?, "q"}``. Four tasks are multiple choice (``MC_TASKS``: ``o`` the options, ``p`` the
0-based index of the right one); ``q`` is the prompt, its options written into it as
"(A) ...". The question is ``q`` up to its first "(A)" (a trailing "Options:" cut); the
options come from ``o``. The other tasks (grounding, dense captioning, ...) need timestamps
or captions scored by their own metrics: they are left out, counted by task. The ``vid``
annotations replace the times in ``q`` with ``<vid>`` tokens, so those entries are left out
(use the ``txt`` ones). Videos are ``<videos>/<video>``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vagent.evaldata.collect import Result, collect, get_field, run_files, video_path
from vagent.evaldata.items import Problem
from vagent.evaldata.sources import Entries

MC_TASKS = ("rar", "eca", "rvq", "gvq")
_FIRST_OPTION = re.compile(r"\(A\)")
_OPTIONS_LABEL = re.compile(r"(?:options|choices)\s*:?\s*$", re.IGNORECASE)


def question_of(prompt: str) -> str:
    """The prompt up to its first "(A)", without a trailing "Options:"; all of it if none."""
    found = _FIRST_OPTION.search(prompt)
    head = prompt[: found.start()] if found else prompt
    return _OPTIONS_LABEL.sub("", head.rstrip()).strip() or prompt.strip()


def _task(entry: Any) -> str:
    return str(entry.get("task", "")).strip().lower() if isinstance(entry, Mapping) else ""


def _tokens(entry: Any) -> bool:
    return isinstance(entry, Mapping) and "<vid>" in str(entry.get("q", ""))


def convert_etbench(annotations: list[Path], videos: Path, subtitles: Path | None = None) -> Result:
    videos = videos.expanduser().absolute()

    def row(n: int, entry: Any) -> dict[str, Any]:
        task = _task(entry)
        return {
            "video": video_path(videos, str(get_field(entry, "video"))),
            "question": question_of(str(get_field(entry, "q"))),
            "options": get_field(entry, "o"),
            "answer": entry.get("p"),
            "category": task,
            "duration": entry.get("duration"),
            "qid": f"{task}/{entry.get('idx', n - 1)}",
        }

    def one(path: Path, entries: Entries) -> Result:
        items, problems = collect(
            path,
            entries,
            row,
            keep=lambda e: _task(e) in MC_TASKS and not _tokens(e),
            benchmark="etbench",
        )
        other = Counter(_task(e) or "(no task)" for _, e in entries if _task(e) not in MC_TASKS)
        if other:
            tasks = ", ".join(f"{t} {c}" for t, c in sorted(other.items()))
            first = next(line for line, e in entries if _task(e) not in MC_TASKS)
            problems.append(
                Problem(
                    first,
                    f"{sum(other.values())} entries of tasks that are not multiple choice "
                    f"({tasks}) skipped",
                    str(path),
                )
            )
        vid = [line for line, e in entries if _task(e) in MC_TASKS and _tokens(e)]
        if vid:
            problems.append(
                Problem(
                    vid[0],
                    f"{len(vid)} entries have <vid> tokens for their times (the vid "
                    "annotations); skipped: convert etbench_txt_v1.0.json",
                    str(path),
                )
            )
        return items, problems

    return run_files(annotations, one)
