"""Benchmark formats added for leaderboard-comparable evaluation: LVBench, the Hugging Face
Parquet releases (LongVideoBench, EgoSchema, CinePile), subtitle locations, Parquet without
pyarrow."""

from __future__ import annotations

import builtins
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from vagent.cli import cli
from vagent.evaldata import read_jsonl
from vagent.evaldata.convert import (
    convert_cinepile,
    convert_egoschema,
    convert_longvideobench,
    convert_lvbench,
    convert_videomme,
    split_embedded_options,
)
from vagent.evaldata.subtitles import json_cues
from vagent.evaldata.tables import benchmark_table
from vagent.text.subtitles import read_subtitle_file

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


# --- LVBench ---------------------------------------------------------------------------------


def _lvbench_video(key: str, minutes: float, qa: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "key": key,
        "type": "documentary",
        "video_info": {"start": 0, "end": minutes * 60, "duration_minutes": minutes},
        "qa": qa,
    }


def _lvbench_qa(uid: int, answer: str, types: list[str], **kw: Any) -> dict[str, Any]:
    q = {
        "uid": uid,
        "question": "What is the man holding?\n(A) a cup\n(B) a phone\n(C) a pen\n(D) a hat\n",
        "answer": answer,
        "question_type": types,
        "time_reference": "00:15-00:19",
    }
    return {**q, **kw}


def test_embedded_options_are_split() -> None:
    assert split_embedded_options("Why?\n(A) x y\n(B) z\n") == ("Why?", ["x y", "z"])
    with pytest.raises(ValueError, match="no options"):
        split_embedded_options("Why? (A) x (B) y")
    with pytest.raises(ValueError, match="lettered AC"):
        split_embedded_options("Why?\n(A) x\n(C) y")


def test_lvbench_meta_jsonl(tmp_path: Path) -> None:
    lines = [
        _lvbench_video(
            "Cm73ma6Ibcs",
            68.5,
            [
                _lvbench_qa(1, "B", ["entity recognition", "key information retrieval"]),
                _lvbench_qa(2, "E", ["reasoning"]),  # defect: there is no option E
                _lvbench_qa(
                    3,
                    "A",
                    ["summarization"],
                    question="Which is said?\n(A) Blue\n(B) Red\n(C) White\n(D) Blue",
                ),
            ],
        ),
        "not an object",
        _lvbench_video("x2", 30, [_lvbench_qa(4, "A", ["temporal grounding"], question="Q?")]),
    ]
    ann = tmp_path / "video_info.meta.jsonl"
    ann.write_text("\n".join(json.dumps(v) for v in lines) + "\n")
    (tmp_path / "lv").mkdir()
    items, problems = convert_lvbench([ann], tmp_path / "lv")
    first, bad, repeated = items
    assert first.video == str(tmp_path / "lv" / "Cm73ma6Ibcs.mp4")
    assert (first.question, first.options, first.answer, first.answer_text) == (
        "What is the man holding?",
        ["a cup", "a phone", "a pen", "a hat"],
        "B",
        "a phone",
    )
    assert first.types == ["entity recognition", "key information retrieval"]
    assert (first.qid, first.duration, first.benchmark, first.line) == ("1", 4110.0, "lvbench", 1)
    assert (bad.answer, bad.scorable) == ("", False)
    assert "answer 'E' is not among the options" in (bad.defect or "")
    assert repeated.answer == "A" and "option D repeats option A" in (repeated.defect or "")
    assert [(p.line, p.reason) for p in problems] == [
        (2, "entry 2: no 'qa' list"),
        (3, "entry 4: no options '\\n(A) ...' in the question"),
    ]


def test_lvbench_through_the_command_reads_back(tmp_path: Path) -> None:
    ann = tmp_path / "video_info.meta.jsonl"
    qa = [_lvbench_qa(1, "C", ["reasoning", "event understanding"])]
    ann.write_text(json.dumps(_lvbench_video("k1", 10, qa)) + "\n")
    out = tmp_path / "lvbench.jsonl"
    args = ["convert", "lvbench", str(ann), "--videos", str(tmp_path / "v"), "-o", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    [item], problems = read_jsonl(out)
    assert problems == [] and item.types == ["reasoning", "event understanding"]
    head = out.read_text().splitlines()[:2]
    assert head[0].startswith("# vagent ") and head[0].endswith(" convert lvbench")
    assert head[1] == f"# annotation {hashlib.sha256(ann.read_bytes()).hexdigest()} {ann}"
    assert (item.answer, item.benchmark) == ("C", "lvbench")


# --- LongVideoBench parquet, JSON subtitles ----------------------------------------------------


def _lvb_row(i: int, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "video_id": "86CxyhFV9MI",
        "question": "Which subtitles appear with the man on stage?",
        "option0": "first",
        "option1": "second",
        "option2": "third",
        "option3": "N/A",
        "option4": "N/A",
        "correct_choice": 2,
        "duration_group": 15,
        "question_category": "TOS",
        "id": f"86CxyhFV9MI_{i}",
        "video_path": "86CxyhFV9MI.mp4",
        "subtitle_path": "86CxyhFV9MI_en.json",
        "starting_timestamp_for_subtitles": 0,
        "duration": 12.5,
    }
    return {**row, **kw}


def test_longvideobench_parquet_cuts_na_padding(tmp_path: Path) -> None:
    path = _parquet(
        tmp_path / "lvb" / "validation-00000-of-00001.parquet",
        [_lvb_row(0), _lvb_row(1, option4="fifth", option3="fourth", correct_choice=4)],
    )
    items, problems = convert_longvideobench([path], tmp_path / "videos")
    assert problems == []
    assert [i.options for i in items] == [
        ["first", "second", "third"],
        ["first", "second", "third", "fourth", "fifth"],
    ]
    assert [(i.answer, i.length, i.line) for i in items] == [("C", "15", 1), ("E", "15", 2)]


def test_longvideobench_json_subtitles_placed_beside_the_video(tmp_path: Path) -> None:
    videos, subs = tmp_path / "videos", tmp_path / "subtitles"
    videos.mkdir()
    (videos / "86CxyhFV9MI.mp4").write_bytes(b"")
    subs.mkdir()
    (subs / "86CxyhFV9MI_en.json").write_text(
        json.dumps(
            [
                {"start": "00:00:01.500", "end": "00:00:03.000", "line": "Hello there"},
                {"timestamp": [4.0, 6.25], "text": "General  Kenobi"},
            ]
        )
    )
    (subs / "gone_en.json").write_text("[{]")
    ann = tmp_path / "lvb_val.json"
    rows = [
        _lvb_row(0, starting_timestamp_for_subtitles=1.0),  # the clip starts 1 s into the source
        _lvb_row(1, video_id="gone", video_path="gone.mp4", subtitle_path="gone_en.json"),
    ]
    for r in rows:
        r["candidates"] = [r.pop(f"option{k}") for k in range(5)][:3]
    ann.write_text(json.dumps(rows))
    out = tmp_path / "lvb.jsonl"
    args = ["convert", "longvideobench", str(ann), "--videos", str(videos)]
    args += ["--subtitles", str(subs), "--subtitles-beside", "-o", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "2 with subtitles" not in result.stdout and "1 with subtitles" in result.stdout
    assert (
        f"{subs / 'gone_en.json'}:0: subtitles not placed at {videos / 'gone.srt'}: bad JSON"
        in (result.stderr)
    )
    srt = videos / "86CxyhFV9MI.srt"
    spans, sub_problems = read_subtitle_file(srt)
    assert sub_problems == []
    assert [(s.start, s.end, s.text) for s in spans] == [
        (0.5, 2.0, "Hello there"),
        (3.0, 5.25, "General Kenobi"),
    ]
    items, _ = read_jsonl(out)
    assert [i.subtitles for i in items] == [str(srt), None]


def test_json_cues_say_what_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps([{"start": "1:xx", "end": "2", "line": "a"}]))
    with pytest.raises(ValueError, match="cue 1: time '1:xx' is not"):
        json_cues(bad)


def test_videomme_subtitle_folder(tmp_path: Path) -> None:
    (tmp_path / "subtitle").mkdir()
    (tmp_path / "subtitle" / "fFjv93ACGo8.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHi\n")
    rows = [
        {
            "videoID": vid,
            "question_id": f"{n:03d}-1",
            "duration": "short",
            "task_type": "OCR Problems",
            "question": "What is written?",
            "options": ["A. a", "B. b", "C. c", "D. d"],
            "answer": "A",
        }
        for n, vid in enumerate(["fFjv93ACGo8", "nosubs"], 1)
    ]
    path = _parquet(tmp_path / "videomme" / "test-00000-of-00001.parquet", rows)
    items, problems = convert_videomme([path], tmp_path / "data", tmp_path / "subtitle")
    assert problems == []
    assert [i.subtitles for i in items] == [str(tmp_path / "subtitle" / "fFjv93ACGo8.srt"), None]


# --- EgoSchema on Hugging Face ---------------------------------------------------------------


def test_egoschema_hf_parquet(tmp_path: Path) -> None:
    rows = [
        {
            "question_idx": "0",
            "question": "What is C doing?",
            "video_idx": "uid-a",
            "option": [f"{'ABCDE'[i]}. thing {i}" for i in range(5)],
            "answer": "3",
        },
        {
            "question_idx": "1",
            "question": "Why?",
            "video_idx": "uid-b",
            "option": [f"{'ABCDE'[i]}. thing {i}" for i in range(5)],
            "answer": "",  # the full set's answers are not public
        },
    ]
    path = _parquet(tmp_path / "Subset" / "test-00000-of-00001.parquet", rows)
    items, problems = convert_egoschema([path], tmp_path / "videos")
    [item] = items
    assert (item.qid, item.answer, item.answer_text, item.benchmark) == (
        "0",
        "D",
        "thing 3",
        "egoschema",
    )
    assert item.video == str(tmp_path / "videos" / "uid-a.mp4")
    assert len(problems) == 1 and "1 of 2 entries have no answer" in problems[0].reason


def test_parquet_without_pyarrow_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _parquet(tmp_path / "t.parquet", [{"videoID": "x"}])
    real_import = builtins.__import__

    def no_pyarrow(name: str, *args: Any, **kw: Any) -> Any:
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    out = tmp_path / "o.jsonl"
    result = CliRunner().invoke(
        cli, ["convert", "videomme", str(path), "--videos", str(tmp_path), "-o", str(out)]
    )
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr == (
        f"{path}:0: reading Parquet needs pyarrow: pip install 'vagent[eval]'\n"
    )


# --- CinePile --------------------------------------------------------------------------------


def test_cinepile_parquet_and_its_table(tmp_path: Path) -> None:
    base = {
        "movie_name": "Heat (1995)",
        "yt_clip_link": "https://www.youtube.com/watch?v=AbC123xyz_0",
        "question": "What does the man hold before he leaves?",
        "choices": ["A gun", "A bag", "A phone", "A map", "Nothing"],
        "answer_key": "A bag",
        "answer_key_position": 1,
        "question_category": "Setting and\nTechnical Analysis",  # the release's line break
        "hard_split": "False",
        "subtitles": "<subtitle> Let's go.",
    }
    rows = [
        base,
        {**base, "answer_key_position": 4, "hard_split": "True", "question_category": "Theme"},
    ]
    path = _parquet(tmp_path / "cinepile" / "test-00000-of-00001.parquet", rows)
    videos = tmp_path / "clips"
    videos.mkdir()
    (videos / "Heat (1995)_AbC123xyz_0.mp4").write_bytes(b"")
    items, problems = convert_cinepile([path], videos)
    assert problems == []
    assert [(i.answer, i.category, i.types, i.qid) for i in items] == [
        ("B", "Setting and Technical Analysis", None, "AbC123xyz_0/1"),
        ("E", "Theme", ["hard"], "AbC123xyz_0/2"),
    ]
    assert items[0].video == str(videos / "Heat (1995)_AbC123xyz_0.mp4")
    result = [
        {"correct": c, "open": False, "category": i.category, "types": i.types}
        for i, c in zip(items, (True, False), strict=True)
    ]
    t = benchmark_table("cinepile", result)
    assert t["group_by"] == "question_category" and t["overall"] == 0.5
    assert t["hard_split"] == {"n": 1, "correct": 0, "accuracy": 0.0}
