"""HourVideo (github.com/keshik6/HourVideo; files: huggingface.co/datasets/HourVideo/HourVideo).

The release JSON (``v1.0_release/json/dev_v1.0_annotations.json`` and the like) is one object
keyed by Ego4D video uid: ``{uid: {"video_metadata": {"duration_in_seconds", ...},
"benchmark_dataset": [{"qid", "task", "question", "answer_1" .. "answer_5",
"correct_answer_label", "mcq_test", "relevant_timestamps"}, ...]}}``. The Parquet release has
the same questions one a row, with ``video_uid``. Videos are ``<uid>.mp4``.

Every question is five-way multiple choice; ``task`` is a path, its first part the task
(summarization, perception, reasoning, navigation) and the whole the sub-task. Three sub-tasks
give images as options (``IMAGE_TASKS``): a text answerer cannot be asked them, so they are
left out and counted. Questions without ``correct_answer_label`` (the test set: EvalAI scores
it) are left out and counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vagent.evaldata.collect import Result, collect, get_field, run_files, unanswered, video_path
from vagent.evaldata.items import Problem
from vagent.evaldata.sources import Entries

OPTIONS = tuple(f"answer_{i}" for i in range(1, 6))
IMAGE_TASKS = frozenset(
    {
        "navigation/room_to_room_image",
        "navigation/object_retrieval_image",
        "reasoning/spatial/layout",
    }
)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def flatten(entries: Entries) -> Entries:
    """One entry per question: the release's object of videos, or rows as they are."""
    flat: Entries = []
    for line, entry in entries:
        if isinstance(entry, Mapping) and "video_uid" not in entry and "qid" not in entry:
            for uid, video in entry.items():
                meta = video.get("video_metadata") if isinstance(video, Mapping) else None
                qs = video.get("benchmark_dataset") if isinstance(video, Mapping) else None
                if not isinstance(qs, list):
                    flat.append((line, {"video_uid": uid, "_broken": "no 'benchmark_dataset'"}))
                    continue
                seconds = meta.get("duration_in_seconds") if isinstance(meta, Mapping) else None
                for q in qs:
                    row = dict(q) if isinstance(q, Mapping) else {"_broken": "not an object"}
                    flat.append((line, {"video_uid": uid, "duration_in_seconds": seconds, **row}))
        else:
            flat.append((line, entry))
    return flat


def _image_options(entry: Any) -> bool:
    if not isinstance(entry, Mapping):
        return False
    if str(entry.get("task", "")).strip() in IMAGE_TASKS:
        return True
    values = [str(entry.get(k, "")).strip().lower() for k in OPTIONS]
    return all(v.endswith(IMAGE_SUFFIXES) for v in values)


def _unlabelled(entry: Any) -> bool:
    return (
        isinstance(entry, Mapping)
        and not entry.get("_broken")
        and entry.get("correct_answer_label") in (None, "")
    )


def convert_hourvideo(
    annotations: list[Path], videos: Path, subtitles: Path | None = None
) -> Result:
    videos = videos.expanduser().absolute()

    def row(n: int, entry: Any) -> dict[str, Any]:
        try:
            return fields(entry)
        except ValueError as exc:  # every entry of the release is on line 1: name it
            if not isinstance(entry, Mapping):
                raise
            name = "/".join(str(entry[k]) for k in ("video_uid", "qid") if entry.get(k))
            raise ValueError(f"{name}: {exc}" if name else str(exc)) from None

    def fields(entry: Any) -> dict[str, Any]:
        if isinstance(entry, Mapping) and entry.get("_broken"):
            raise ValueError(str(entry["_broken"]))
        uid = str(get_field(entry, "video_uid"))
        task = str(get_field(entry, "task")).strip()
        seconds = entry.get("duration_in_seconds")
        return {
            "video": video_path(videos, f"{uid}.mp4"),
            "question": get_field(entry, "question"),
            "options": [get_field(entry, k) for k in OPTIONS],
            "answer": entry.get("correct_answer_label"),
            "category": task,
            "types": [task.split("/")[0]],
            "duration": seconds if isinstance(seconds, int | float) else None,
            "qid": f"{uid}/{get_field(entry, 'qid')}",
        }

    def one(path: Path, entries: Entries) -> Result:
        flat = flatten(entries)
        images = Counter(str(e.get("task", "")).strip() for _, e in flat if _image_options(e))
        kept = [(line, e) for line, e in flat if not _image_options(e)]
        items, problems = collect(
            path, kept, row, keep=lambda e: not _unlabelled(e), benchmark="hourvideo"
        )
        why = "have no correct_answer_label (the test set's answers are not public)"
        problems += unanswered(path, kept, _unlabelled, why)
        if images:
            tasks = ", ".join(f"{t} {c}" for t, c in sorted(images.items()))
            first = next(line for line, e in flat if _image_options(e))
            problems.append(
                Problem(
                    first,
                    f"{sum(images.values())} questions with image options ({tasks}) skipped: "
                    "a text answer cannot choose among images",
                    str(path),
                )
            )
        return items, problems

    return run_files(annotations, one)
