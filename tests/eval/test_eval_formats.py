"""Benchmark formats added for leaderboard-comparable evaluation: LVBench, the Hugging Face
Parquet releases (LongVideoBench, EgoSchema, CinePile), subtitle locations, Parquet without
pyarrow, HourVideo, E.T.Bench's multiple-choice tasks, MLVU's test layout and scoring points."""

from __future__ import annotations

import builtins
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from vagent.cli import cli
from vagent.evaldata import read_jsonl, write_jsonl
from vagent.evaldata.convert import (
    convert_cinepile,
    convert_egoschema,
    convert_etbench,
    convert_hourvideo,
    convert_longvideobench,
    convert_lvbench,
    convert_mlvu,
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


# --- HourVideo ------------------------------------------------------------------------------


def _hv_q(qid: str, task: str, label: Any, **kw: Any) -> dict[str, Any]:
    q = {
        "qid": qid,
        "task": task,
        "question": "Where did I leave the scissors?\n",
        "answer_1": "On the table",
        "answer_2": "In the drawer",
        "answer_3": "On the sofa",
        "answer_4": "In the sink",
        "answer_5": "On the shelf",
        "correct_answer_label": label,
        "mcq_test": "Where did I leave the scissors? A. On the table B. ...",
        "relevant_timestamps": "00:12:05 - 00:12:40",
    }
    return {**q, **kw}


def _hourvideo_release(tmp_path: Path) -> Path:
    images = {f"answer_{i}": f"images/nav_{i}.png" for i in range(1, 6)}
    release = {
        "uid-kitchen": {
            "video_metadata": {"duration_in_seconds": 3120.5, "scenarios": ["Cooking"]},
            "benchmark_dataset": [
                _hv_q("0", "perception/information_retrieval/factual_recall", "B"),
                _hv_q("1", "summarization/key_events_objects", " C\n"),
                _hv_q("2", "reasoning/temporal/duration", "F"),  # defect: no option F
                _hv_q("3", "navigation/room_to_room_image", "A", **images),  # image options
                _hv_q("4", "reasoning/causal", None),  # test set: no label
                _hv_q("5", "reasoning/predictive", "A", answer_5="On the table"),  # repeat
                {
                    k: v
                    for k, v in _hv_q("6", "perception/tracking", "A").items()
                    if k != "answer_3"
                },
            ],
        },
        "uid-garage": {"video_metadata": {"duration_in_seconds": 1500}},  # no questions list
    }
    ann = tmp_path / "dev_v1.0_annotations.json"
    ann.write_text(json.dumps(release))
    return ann


def test_hourvideo_release_json(tmp_path: Path) -> None:
    ann = _hourvideo_release(tmp_path)
    items, problems = convert_hourvideo([ann], tmp_path / "videos")
    assert [(i.qid, i.answer, i.category, i.types) for i in items] == [
        ("uid-kitchen/0", "B", "perception/information_retrieval/factual_recall", ["perception"]),
        ("uid-kitchen/1", "C", "summarization/key_events_objects", ["summarization"]),
        ("uid-kitchen/2", "", "reasoning/temporal/duration", ["reasoning"]),
        ("uid-kitchen/5", "A", "reasoning/predictive", ["reasoning"]),
    ]
    first = items[0]
    assert first.video == str(tmp_path / "videos" / "uid-kitchen.mp4")
    assert first.question == "Where did I leave the scissors?" and len(first.options or []) == 5
    assert first.answer_text == "In the drawer" and first.duration == 3120.5
    assert first.benchmark == "hourvideo" and first.bucket == "15-60 min"
    assert "answer 'F' is not among the options" in (items[2].defect or "")
    assert "option E repeats option A" in (items[3].defect or "")
    assert sorted(p.reason for p in problems) == [
        "1 of 7 entries have no correct_answer_label (the test set's answers are not public); "
        "skipped",
        "1 questions with image options (navigation/room_to_room_image 1) skipped: a text "
        "answer cannot choose among images",
        "entry 6: uid-kitchen/6: missing 'answer_3'",
        "entry 7: uid-garage: no 'benchmark_dataset'",
    ]


def test_hourvideo_parquet_rows_give_the_same_items(tmp_path: Path) -> None:
    rows = [
        {"video_uid": "uid-kitchen", **_hv_q("0", "perception/tracking", "B")},
        {"video_uid": "uid-kitchen", **_hv_q("1", "navigation/object_retrieval_image", "A")},
    ]
    path = _parquet(tmp_path / "v1.0_release" / "parquet" / "dev_v1.0.parquet", rows)
    items, problems = convert_hourvideo([path], tmp_path / "videos")
    assert [(i.qid, i.answer, i.line) for i in items] == [("uid-kitchen/0", "B", 1)]
    assert len(problems) == 1 and "navigation/object_retrieval_image 1" in problems[0].reason


def test_hourvideo_table_by_task_and_sub_task() -> None:
    def row(ok: bool, cat: str) -> dict[str, Any]:
        return {"correct": ok, "open": False, "score": None, "category": cat}

    rows = [
        row(True, "summarization/key_events_objects"),
        row(False, "summarization/compare_contrast"),
        row(True, "reasoning/causal"),
        row(True, "reasoning/spatial/proximity"),
        row(False, "reasoning/spatial/proximity"),
        row(False, "perception/tracking"),
    ]
    t = benchmark_table("hourvideo", rows)
    assert list(t["groups"]) == ["summarization", "perception", "reasoning"]
    assert t["groups"]["reasoning"] == {"n": 3, "correct": 2, "accuracy": 0.6667}
    assert t["sub_tasks"]["reasoning/spatial/proximity"]["accuracy"] == 0.5
    assert t["overall"] == 0.5 and t["group_by"] == "task_category"  # all questions pooled


# --- E.T.Bench -----------------------------------------------------------------------------


def _et(idx: int, task: str, **kw: Any) -> dict[str, Any]:
    e = {"version": 1.0, "idx": idx, "task": task, "source": "perception_test",
         "video": f"{task}/clip{idx}.mp4", "duration": 30.0}  # fmt: skip
    return {**e, **kw}


def test_etbench_multiple_choice_tasks_only(tmp_path: Path) -> None:
    opts = ["cutting", "pouring", "stirring", "washing"]
    entries = [
        _et(0, "rar", src=[2.0, 5.0], p=2, o=opts,
            q="What is the person doing from 2.0 to 5.0 seconds? Options: (A) cutting "
              "(B) pouring (C) stirring (D) washing Please only give the best option."),
        _et(1, "tvg", tgt=[[1.0, 2.5]], q="When does the person pour the milk?"),
        _et(2, "eca", p=5, o=opts, q="Which event happens at 7.1 seconds?\n(A) cutting\n"),
        _et(3, "gvq", p=0, o=opts, tgt=[[3.0, 4.0]],
            q="What does the person do first?\nOptions:\n(A) cutting\n(B) pouring\n"),
        _et(4, "dvc", g=["a person cuts bread"], q="Describe the events."),
        _et(5, "rvq", p=1, o=opts, src=[2.0, 5.0], q="At <vid> what happens? (A) cutting"),
        _et(6, "rar", p=1, q="What happens? (A) x (B) y"),  # no options list
        _et(7, "tvg", q="When?"),
    ]  # fmt: skip
    ann = tmp_path / "annotations" / "etbench_txt_v1.0.json"
    ann.parent.mkdir()
    ann.write_text(json.dumps(entries, indent=1))
    (tmp_path / "videos" / "rar").mkdir(parents=True)
    (tmp_path / "videos" / "rar" / "clip0.mp4").write_bytes(b"")
    items, problems = convert_etbench([ann], tmp_path / "videos")
    assert [(i.qid, i.category, i.answer) for i in items] == [
        ("rar/0", "rar", "C"),
        ("eca/2", "eca", ""),  # index 5 of 4 options: kept, counted wrong
        ("gvq/3", "gvq", "A"),
    ]
    rar, eca, gvq = items
    assert rar.question == "What is the person doing from 2.0 to 5.0 seconds?"
    assert rar.options == opts and rar.video == str(tmp_path / "videos" / "rar" / "clip0.mp4")
    assert rar.duration == 30.0 and rar.benchmark == "etbench"
    assert "answer index 5 is not among the options" in (eca.defect or "")
    assert gvq.question == "What does the person do first?"
    reasons = sorted(p.reason for p in problems)
    assert reasons == [
        "1 entries have <vid> tokens for their times (the vid annotations); skipped: convert "
        "etbench_txt_v1.0.json",
        "3 entries of tasks that are not multiple choice (dvc 1, tvg 2) skipped",
        "entry 7: missing 'o'",
    ]
    t = benchmark_table(
        "etbench",
        [{"correct": c, "open": False, "score": None, "category": k}
         for c, k in ((True, "gvq"), (False, "rar"), (True, "rar"))],
    )  # fmt: skip
    assert list(t["groups"]) == ["rar", "gvq"] and t["overall"] == 0.6667
    assert "GVQ" in t["note"]


# --- MLVU test layout and scoring points ----------------------------------------------------


def test_mlvu_test_layout_and_scoring_points(tmp_path: Path) -> None:
    six = ["Yes", "No", "Maybe", "Only at night", "Only indoors", "Cannot tell"]
    test = [
        {"question_id": "AR_0", "question_type": "anomaly_reco", "video": "AR_0.mp4",
         "duration": 300, "question": "Does this footage contain an anomaly?",
         "candidates": six},
        {"question_id": "SQA_3", "question_type": "sportsQA", "video": "SQA_3.mp4",
         "question": "Who scores?", "candidates": six[:4], "answer": "No"},
        {"question_id": "SSC_1", "question_type": "subPlot", "video": "SSC_1.mp4",
         "question": "Describe the scene where the cat jumps."},
    ]  # fmt: skip
    ann = tmp_path / "MLVU_Test" / "test_question.json"
    ann.parent.mkdir()
    ann.write_text(json.dumps(test))
    videos = tmp_path / "MLVU_Test" / "video"
    items, problems = convert_mlvu([ann], videos)
    assert [(i.qid, i.answer, i.category) for i in items] == [("SQA_3", "B", "sportsQA")]
    assert items[0].video == str(videos / "SQA_3.mp4")  # one folder, not per task
    assert [p.reason for p in problems] == [
        "2 of 3 entries have no answer (MLVU's test answers are not public: its online "
        "evaluation has them); skipped"
    ]

    dev = tmp_path / "json" / "8_sub_scene.json"
    dev.parent.mkdir()
    points = ["The cat jumps onto the table", "A glass falls and breaks"]
    dev.write_text(json.dumps([{
        "video": "subplot_1.mp4", "duration": 500, "question": "Describe the cat's jump.",
        "answer": "The cat jumps on the table and knocks over a glass.",
        "question_type": "subPlot", "scoring_points": points}]))  # fmt: skip
    items, problems = convert_mlvu([dev], tmp_path / "video")
    assert problems == [] and items[0].scoring_points == points and items[0].options is None
    out = tmp_path / "mlvu.jsonl"
    write_jsonl(items, out)
    back, bad = read_jsonl(out)
    assert bad == [] and back[0].scoring_points == points


def test_convert_command_names_what_it_skipped(tmp_path: Path) -> None:
    ann = _hourvideo_release(tmp_path)
    out = tmp_path / "hourvideo.jsonl"
    args = ["convert", "hourvideo", str(ann), "--videos", str(tmp_path / "v"), "-o", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output  # some skipped
    err = result.stderr.splitlines()
    assert sum("image options" in line for line in err) == 1
    assert sum(line.startswith("kept uid-kitchen/2") for line in err) == 1
    assert "hourvideo: wrote 4 items" in result.stdout and "Traceback" not in result.output
    items, bad = read_jsonl(out)
    assert bad == [] and items[0].qid == "uid-kitchen/0" and len(items) == 4
    assert items[0].types == ["perception"] and items[0].benchmark == "hourvideo"
    help_text = CliRunner().invoke(cli, ["convert", "--help"]).output
    assert "etbench" in help_text and "hourvideo" in help_text and "test_question.json" in help_text
