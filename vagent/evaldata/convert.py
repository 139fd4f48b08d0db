"""Convert public long-video QA benchmarks' annotations to :class:`EvalItem` lists.

Each converter takes the benchmark's annotation files as released and the folder holding its
videos, and returns ``(items, problems)``: an entry it cannot convert is a :class:`Problem`
naming its file and line, never an exception. Field names follow the public releases:

- Video-MME: the Hugging Face rows (``lmms-lab/Video-MME``, ``videomme/test-*.parquet``, or the
  same rows as JSON/JSONL): ``videoID``, ``question_id``, ``duration`` (short/medium/long),
  ``domain``, ``task_type``, ``question``, ``options`` ("A. ..."), ``answer`` (a letter).
  Videos are ``<videoID>.mp4``. The JSON of the GitHub release nests ``questions`` (with
  ``choices``) under each video (``video_id``, ``duration_category``, ``url``) and is read too.
- EgoSchema: ``questions.json`` (``q_uid``, ``question``, ``option 0`` .. ``option 4``) and
  ``subset_answers.json`` (``{q_uid: index}``); videos are ``<q_uid>.mp4``, three minutes each.
- MLVU: one JSON file per task (``1_plotQA.json`` ..) of ``video``, ``duration``, ``question``,
  ``candidates``, ``answer`` (the option's text), ``question_type``; the generation tasks have
  no ``candidates`` and may carry ``scoring_points`` (kept for judges). Videos are
  ``<videos>/<json file stem>/<video>``. The test layout (``MLVU_Test``'s
  ``test_question.json``) lists all tasks in one file, each entry with a ``question_id``
  ("AR_0") and six ``candidates``, its videos in one folder; its answers are not public, so
  entries without an ``answer`` are left out and counted.
- HourVideo and E.T.Bench: :mod:`vagent.evaldata.hourvideo`, :mod:`vagent.evaldata.etbench`.
- LongVideoBench: ``lvb_val.json`` of ``id``, ``video_id``, ``video_path``, ``question``,
  ``candidates``, ``correct_choice`` (0-based), ``duration``, ``duration_group``,
  ``question_category``, ``subtitle_path``; the Hugging Face parquet has ``option0`` ..
  ``option4`` padded with "N/A" instead of ``candidates``. Subtitles: ``subtitles/<id>_en.json``.
- LVBench: ``video_info.meta.jsonl``, one video a line: ``key`` (YouTube id, the video is
  ``<key>.mp4``), ``video_info.duration_minutes``, ``qa[]`` of ``uid``, ``question`` (options
  embedded as "\n(A) ...\n(B) ..."), ``answer`` (a letter), ``question_type`` (a list).

- CinePile: the Hugging Face parquet (``tomg-group-umd/cinepile``) of ``movie_name``,
  ``yt_clip_link``, ``question``, ``choices``, ``answer_key``, ``answer_key_position``
  (0-based), ``question_category``, ``hard_split``; the clip is ``<YouTube id>.mp4`` or
  ``<movie_name>_<YouTube id>.mp4``.

Data defects (a repeated option, an answer not among the options or empty) do not drop the
item: it is kept with its ``defect`` and scored as the official scripts do (letters compared,
so an answer that is not an option is always wrong), and the converter's caller reports it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from vagent.evaldata.answers import LETTERS as LETTERS_
from vagent.evaldata.collect import Converter, Result
from vagent.evaldata.collect import collect as _collect
from vagent.evaldata.collect import get_field as _get
from vagent.evaldata.collect import lacks as _lacks
from vagent.evaldata.collect import run_files as _run
from vagent.evaldata.collect import unanswered as _unanswered
from vagent.evaldata.collect import video_path as _video
from vagent.evaldata.etbench import convert_etbench
from vagent.evaldata.hourvideo import convert_hourvideo
from vagent.evaldata.items import (
    EvalItem,
    Problem,
    drop_duplicate_qids,
    length_bucket,
)
from vagent.evaldata.sources import Entries, expand, read_entries

__all__ = [
    "CONVERTERS",
    "convert",
    "convert_cinepile",
    "convert_egoschema",
    "convert_etbench",
    "convert_hourvideo",
    "convert_longvideobench",
    "convert_lvbench",
    "convert_mlvu",
    "convert_videomme",
    "length_bucket",
]

EGOSCHEMA_SECONDS = 180.0  # "three-minute-long video clips" (EgoSchema README)


def _youtube_id(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    parsed = urlparse(url)
    if parsed.hostname and parsed.hostname.endswith("youtu.be"):
        return parsed.path.strip("/") or None
    found = parse_qs(parsed.query).get("v")
    return found[0] if found else None


def _flatten_videomme(entries: Entries) -> Entries:
    """GitHub-release entries nest ``questions`` under a video: one row per question."""
    flat: Entries = []
    for line, entry in entries:
        if isinstance(entry, Mapping) and isinstance(entry.get("questions"), list):
            outer = {k: v for k, v in entry.items() if k != "questions"}
            flat += [
                (line, {**outer, **q} if isinstance(q, Mapping) else q) for q in entry["questions"]
            ]
        else:
            flat.append((line, entry))
    return flat


def _subtitle(folder: Path | None, name: str) -> str | None:
    """``folder/name`` when it is a file there, else None."""
    if folder is None:
        return None
    path = folder.expanduser().absolute() / name
    try:
        return str(path) if path.is_file() else None
    except OSError:
        return None


def convert_videomme(
    annotations: list[Path], videos: Path, subtitles: Path | None = None
) -> Result:
    videos = videos.expanduser().absolute()

    def row(n: int, entry: Any) -> dict[str, Any]:
        question = _get(entry, "question")
        vid = entry.get("videoID") or _youtube_id(entry.get("url")) or _get(entry, "video_id")
        options = entry.get("options", entry.get("choices"))
        return {
            "video": _video(videos, f"{vid}.mp4"),
            "question": question,
            "options": options if options is not None else _get(entry, "options"),
            "answer": _get(entry, "answer"),
            "category": entry.get("task_type"),
            "qid": entry.get("question_id"),
            "length": entry.get("duration", entry.get("duration_category")),
            "subtitles": _subtitle(subtitles, f"{vid}.srt"),
        }

    return _run(
        annotations,
        lambda path, entries: _collect(path, _flatten_videomme(entries), row, benchmark="videomme"),
    )


def _padded_options(entry: Mapping[str, Any]) -> Any:
    """LongVideoBench's parquet ``option0`` .. ``option4``, the trailing "N/A" padding cut."""
    options = [entry.get(f"option{i}") for i in range(5)]
    while options and (options[-1] is None or str(options[-1]).strip() in ("", "N/A")):
        options.pop()
    return options


def convert_longvideobench(
    annotations: list[Path], videos: Path, subtitles: Path | None = None
) -> Result:
    videos = videos.expanduser().absolute()
    lacking = _lacks("correct_choice")

    def row(n: int, entry: Any) -> dict[str, Any]:
        question = _get(entry, "question")
        name = entry.get("video_path") or f"{_get(entry, 'video_id')}.mp4"
        options = entry.get("candidates")
        if options is None and "option0" in entry:
            options = _padded_options(entry)
        group = entry.get("duration_group")
        sub = entry.get("subtitle_path") or f"{entry.get('video_id')}_en.json"
        offset = entry.get("starting_timestamp_for_subtitles")
        return {
            "video": _video(videos, str(name)),
            "question": question,
            "options": options if options is not None else _get(entry, "candidates"),
            "answer": entry["correct_choice"],
            "category": entry.get("question_category"),
            "duration": entry.get("duration"),
            "qid": entry.get("id"),
            "length": None if group is None else str(group),
            "subtitles": _subtitle(subtitles, str(sub)),
            "subtitles_offset": offset or None,
        }

    def one(path: Path, entries: Entries) -> Result:
        items, problems = _collect(
            path, entries, row, keep=lambda e: not lacking(e), benchmark="longvideobench"
        )
        why = "have no correct_choice (the test split's answers are not public)"
        return items, problems + _unanswered(path, entries, lacking, why)

    return _run(annotations, one)


def _mlvu_test(entry: Any) -> bool:
    """An entry of the test layout (``test_question.json``): it carries a ``question_id``."""
    return isinstance(entry, Mapping) and entry.get("question_id") not in (None, "")


def convert_mlvu(annotations: list[Path], videos: Path, subtitles: Path | None = None) -> Result:
    videos = videos.expanduser().absolute()
    lacking = _lacks("answer", lambda v: v not in (None, ""))

    def one(path: Path, entries: Entries) -> Result:
        task = path.stem  # the videos of 1_plotQA.json are in <videos>/1_plotQA/

        def row(n: int, entry: Any) -> dict[str, Any]:
            test = _mlvu_test(entry)
            return {
                # the test layout keeps every video in one folder
                "video": _video(videos, str(_get(entry, "video")), *([] if test else [task])),
                "question": _get(entry, "question"),
                "options": entry.get("candidates"),
                "answer": _get(entry, "answer"),
                "category": entry.get("question_type"),
                "duration": entry.get("duration"),
                "qid": str(entry["question_id"]) if test else f"{task}/{n - 1}",
                "scoring_points": entry.get("scoring_points"),
            }

        test = [(line, e) for line, e in entries if _mlvu_test(e)]
        keep = (lambda e: not lacking(e)) if test else (lambda e: True)
        items, problems = _collect(path, entries, row, keep=keep, benchmark="mlvu")
        why = "have no answer (MLVU's test answers are not public: its online evaluation has them)"
        return items, problems + (_unanswered(path, test, lacking, why) if test else [])

    return _run(annotations, one)


def _ego_answer(entry: Any, answers: Mapping[str, Any]) -> Any:
    """The original release's answer (subset_answers.json), else the HF row's own."""
    if isinstance(entry, Mapping) and "q_uid" in entry:
        return answers.get(str(entry["q_uid"]))
    raw = entry.get("answer") if isinstance(entry, Mapping) else None
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw)  # the HF rows give the 0-based index as text
    return raw if raw not in ("", None) else None


def convert_egoschema(
    annotations: list[Path], videos: Path, subtitles: Path | None = None
) -> Result:
    videos = videos.expanduser().absolute()
    question_files: list[tuple[Path, Entries]] = []
    answers: dict[str, Any] = {}
    problems: list[Problem] = []
    for path in expand(annotations):
        entries, unread = read_entries(path)
        problems += unread
        first = entries[0][1] if len(entries) == 1 else None
        if isinstance(first, Mapping) and "q_uid" not in first and "video_idx" not in first:
            answers.update(first)  # subset_answers.json: {q_uid: option index}
        elif entries:
            question_files.append((path, entries))

    def lacking(entry: Any) -> bool:
        return isinstance(entry, Mapping) and _ego_answer(entry, answers) is None

    def row(n: int, entry: Any) -> dict[str, Any]:
        if isinstance(entry, Mapping) and "q_uid" not in entry and "video_idx" in entry:
            # the Hugging Face rows (lmms-lab/egoschema): video_idx, question, option[], answer
            uid = str(_get(entry, "video_idx"))
            options = _get(entry, "option")
            qid = str(entry.get("question_idx") or uid)
        else:
            uid = str(_get(entry, "q_uid"))
            options = [_get(entry, f"option {i}") for i in range(5)]
            qid = uid
        return {
            "video": _video(videos, f"{uid}.mp4"),
            "question": _get(entry, "question"),
            "options": options,
            "answer": _ego_answer(entry, answers),
            "duration": EGOSCHEMA_SECONDS,
            "qid": qid,
        }

    items: list[EvalItem] = []
    why = "have no answer in the given answer files (subset_answers.json holds the public 500)"
    for path, entries in question_files:
        got, bad = _collect(
            path, entries, row, keep=lambda e: not lacking(e), benchmark="egoschema"
        )
        items += got
        problems += bad + _unanswered(path, entries, lacking, why)
    items, dups = drop_duplicate_qids(items)
    return items, problems + dups


# "\n(A) text" in LVBench's question: the options' start; the question is what comes before.
_EMBEDDED = re.compile(r"\n\s*\(([A-Z])\)[ \t]*")


def split_embedded_options(text: str) -> tuple[str, list[str]]:
    """``"Why?\n(A) x\n(B) y\n"`` -> ``("Why?", ["x", "y"])``; the letters must run A, B, ..."""
    parts = _EMBEDDED.split("\n" + text.strip("\n") if text.startswith("(A)") else text)
    question, rest = parts[0].strip(), parts[1:]
    letters, options = rest[0::2], [o.strip() for o in rest[1::2]]
    if not options:
        raise ValueError("no options '\\n(A) ...' in the question")
    if "".join(letters) != LETTERS_[: len(letters)]:
        raise ValueError(f"embedded options are lettered {''.join(letters)}, not A, B, ...")
    return question, options


def convert_lvbench(annotations: list[Path], videos: Path, subtitles: Path | None = None) -> Result:
    videos = videos.expanduser().absolute()

    def one(path: Path, entries: Entries) -> Result:
        flat: Entries = []
        problems: list[Problem] = []
        for n, (line, video) in enumerate(entries, 1):
            qa = video.get("qa") if isinstance(video, Mapping) else None
            if not isinstance(qa, list):
                problems.append(Problem(line, f"entry {n}: no 'qa' list", str(path)))
                continue
            outer = {k: v for k, v in video.items() if k != "qa"}
            flat += [(line, {**outer, **q} if isinstance(q, Mapping) else q) for q in qa]

        def row(n: int, entry: Any) -> dict[str, Any]:
            key = str(_get(entry, "key"))
            question, options = split_embedded_options(str(_get(entry, "question")))
            info = entry.get("video_info")
            minutes = info.get("duration_minutes") if isinstance(info, Mapping) else None
            types = entry.get("question_type")
            types = [types] if isinstance(types, str) else types
            return {
                "video": _video(videos, f"{key}.mp4"),
                "question": question,
                "options": options,
                "answer": entry.get("answer"),
                "category": types[0] if isinstance(types, list) and types else None,
                "types": types,
                "duration": minutes * 60.0 if isinstance(minutes, int | float) else None,
                "qid": None if entry.get("uid") is None else str(entry["uid"]),
            }

        items, bad = _collect(path, flat, row, benchmark="lvbench")
        return items, problems + bad

    return _run(annotations, one)


def convert_cinepile(
    annotations: list[Path], videos: Path, subtitles: Path | None = None
) -> Result:
    videos = videos.expanduser().absolute()

    def row(n: int, entry: Any) -> dict[str, Any]:
        link = str(_get(entry, "yt_clip_link"))
        clip = _youtube_id(link) or link.rstrip("/").rsplit("/", 1)[-1]
        named = f"{entry.get('movie_name')}_{clip}.mp4"
        video = _video(videos, f"{clip}.mp4")
        if not Path(video).is_file() and (videos / named).is_file():
            video = str(videos / named)
        position = entry.get("answer_key_position")
        hard = entry.get("hard_split")
        return {
            "video": video,
            "question": _get(entry, "question"),
            "options": _get(entry, "choices"),
            "answer": position if position is not None else entry.get("answer_key"),
            "category": " ".join(str(entry.get("question_category") or "").split()) or None,
            "qid": f"{clip}/{n}",
            "types": ["hard"] if str(hard).lower() in ("true", "1") else None,
        }

    return _run(
        annotations, lambda path, entries: _collect(path, entries, row, benchmark="cinepile")
    )


CONVERTERS: dict[str, Converter] = {
    "lvbench": convert_lvbench,
    "cinepile": convert_cinepile,
    "videomme": convert_videomme,
    "egoschema": convert_egoschema,
    "mlvu": convert_mlvu,
    "longvideobench": convert_longvideobench,
    "hourvideo": convert_hourvideo,
    "etbench": convert_etbench,
}


def convert(
    fmt: str, annotations: list[Path], videos: Path, subtitles: Path | None = None
) -> Result:
    """Convert with the named converter (a key of :data:`CONVERTERS`)."""
    try:
        converter = CONVERTERS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown format {fmt!r}; choose one of {', '.join(sorted(CONVERTERS))}"
        ) from None
    return converter(
        [Path(p) for p in annotations], Path(videos), None if subtitles is None else Path(subtitles)
    )
