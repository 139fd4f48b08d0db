"""Evaluation data: the JSONL reader/writer, answer normalisation, benchmark converters, CLI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from vagent.cli import cli
from vagent.evaldata import EvalItem, length_bucket, read_jsonl, write_jsonl
from vagent.evaldata.answers import choice_letter, clean_options
from vagent.evaldata.convert import (
    convert_egoschema,
    convert_longvideobench,
    convert_mlvu,
    convert_videomme,
)

# --- answers and options -----------------------------------------------------------------

OPTS = ["Red", "Blue", "Green", "Yellow"]


@pytest.mark.parametrize(
    "raw", ["B", "b", "(B)", "B.", "B) Blue", "(B) Blue", "B. blue.", 1, 1.0, "Blue", " blue. "]
)
def test_answer_forms_become_the_letter(raw: Any) -> None:
    assert choice_letter(raw, OPTS) == "B"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("E", "not among the options"),
        (4, "index 4 is not among"),
        (-1, "index -1"),
        ("B) Red", "option B is 'Blue'"),
        ("Purple", "not among the options"),
        ("", "empty"),
        (True, "not among"),
        (["B"], "list"),
    ],
)
def test_bad_answers_say_why(raw: Any, says: str) -> None:
    with pytest.raises(ValueError, match=says.replace("(", r"\(")):
        choice_letter(raw, OPTS)


def test_option_text_wins_over_index_for_digit_strings() -> None:
    # MLVU's count task: the answer "1" is the option text "1", not index 1
    assert choice_letter("1", ["2", "1", "5", "4"]) == "B"
    assert choice_letter(1, ["2", "1", "5", "4"]) == "B"
    assert choice_letter(0, ["2", "1", "5", "4"]) == "A"


def test_letter_prefixes_are_stripped_only_when_every_option_has_its_own() -> None:
    assert clean_options(["A. Apples.", "B) Candles.", "(C) Berries.", "D: Same."]) == [
        "Apples.",
        "Candles.",
        "Berries.",
        "Same.",
    ]
    assert clean_options(["A. Apples.", "Candles."]) == ["A. Apples.", "Candles."]
    assert clean_options(["B. first", "A. second"]) == ["B. first", "A. second"]
    assert clean_options(["A.I. writes", "B.B. King sings"]) == ["A.I. writes", "B.B. King sings"]
    assert clean_options([3, 4]) == ["3", "4"]


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ([], "0 given"),
        (["only"], "1 given"),
        (["x", "X."], "option B repeats option A"),
        (["A. x", "B. "], "option B is empty"),
        ("A, B", "a list is needed"),
        ([None, "x"], "option A is NoneType"),
    ],
)
def test_malformed_options(raw: Any, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        clean_options(raw)


def test_length_buckets() -> None:
    assert [length_bucket(s) for s in (5, 119.9, 120, 900, 901, 3600, 3601)] == [
        "<2 min",
        "<2 min",
        "2-15 min",
        "2-15 min",
        "15-60 min",
        "15-60 min",
        ">60 min",
    ]
    assert length_bucket(None) == "unknown"
    assert length_bucket(None, "long") == "15-60 min"  # Video-MME's label
    assert length_bucket(None, "short") == "<2 min"
    assert length_bucket(None, ">60 min") == ">60 min"
    assert length_bucket(None, "epic") == "epic"
    assert length_bucket(100, "long") == "<2 min"  # a real duration wins


# --- JSONL -------------------------------------------------------------------------------


def _lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rec(**kw: Any) -> str:
    base: dict[str, Any] = {"video": "a.mp4", "question": "What colour?"}
    return json.dumps({**base, **kw})


def test_read_jsonl_reports_bad_lines_by_number_and_keeps_the_rest(tmp_path: Path) -> None:
    path = _lines(
        tmp_path / "set" / "eval.jsonl",
        [
            "# a comment",  # 1
            _rec(options=["A. Red", "B. Blue"], answer="B", qid="q1", category="colour"),  # 2
            "",  # 3
            '{"video": "a.mp4", "question": ',  # 4 bad JSON
            _rec(answer=None),  # 5 missing answer
            _rec(options=["Red", "Blue"], answer="C"),  # 6 answer not among options
            _rec(options=["Red", "red"], answer="A"),  # 7 duplicate options
            _rec(options=[], answer="A"),  # 8 empty options
            _rec(answer="Blue", duration=-3),  # 9 bad duration
            json.dumps({"question": "q", "answer": "x"}),  # 10 missing video
            "[1, 2]",  # 11 not an object
            _rec(answer="a free answer", qid="q2", duration=65.5, length="short"),  # 12
            _rec(options=["Red", "Blue"], answer=0, qid="q1"),  # 13 duplicate qid
            "   ",  # 14
            _rec(video="/abs/b.mp4", options=["Red", "Blue"], answer="(A) Red"),  # 15
        ],
    )
    items, problems = read_jsonl(path)
    assert [i.line for i in items] == [2, 12, 15]
    assert [(p.line, p.file) for p in problems] == [
        (n, str(path)) for n in (4, 5, 6, 7, 8, 9, 10, 11, 13)
    ]
    reasons = {p.line: p.reason for p in problems}
    assert reasons[4].startswith("bad JSON")
    assert reasons[5] == "missing answer"
    assert "not among the options" in reasons[6]
    assert "repeats option A" in reasons[7]
    assert "0 given" in reasons[8]
    assert "duration" in reasons[9]
    assert reasons[10] == "missing video"
    assert "not a JSON object" in reasons[11]
    assert "duplicate qid 'q1' (first on line 2)" in reasons[13]
    assert str(problems[0]) == f"{path}:4: {reasons[4]}"

    choice, free, absolute = items
    assert (choice.options, choice.answer, choice.answer_text) == (["Red", "Blue"], "B", "Blue")
    assert choice.category == "colour" and choice.is_choice
    assert (free.options, free.answer, free.duration) == (None, "a free answer", 65.5)
    assert free.bucket == "<2 min" and not free.is_choice
    assert absolute.answer == "A"


def test_relative_videos_resolve_against_the_jsonl_folder(tmp_path: Path) -> None:
    path = _lines(
        tmp_path / "bench" / "eval.jsonl",
        [
            _rec(video="clips/a.mp4", answer="x"),
            _rec(video=str(tmp_path / "elsewhere" / "b.mp4"), answer="x"),
        ],
    )
    items, problems = read_jsonl(path)
    assert problems == []
    assert items[0].video == str(tmp_path / "bench" / "clips" / "a.mp4")
    assert items[1].video == str(tmp_path / "elsewhere" / "b.mp4")

    # written back next to the videos: the one under the folder stays relative
    out = tmp_path / "bench" / "copy.jsonl"
    assert write_jsonl(items, out) == 2
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["video"] for r in recs] == ["clips/a.mp4", str(tmp_path / "elsewhere" / "b.mp4")]
    again, _ = read_jsonl(out)
    assert [i.video for i in again] == [i.video for i in items]


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    items = [
        EvalItem(str(tmp_path / "v.mp4"), "Q1?", "C", ["x", "y", "z"], "cat", 12.0, "a", 0, None),
        EvalItem(str(tmp_path / "w.mp4"), "Q2?", "free text", length="long", qid="b"),
    ]
    out = tmp_path / "out" / "eval.jsonl"
    write_jsonl(items, out)
    first = json.loads(out.read_text().splitlines()[0])
    assert first == {
        "video": str(tmp_path / "v.mp4"),  # outside the JSONL's folder: absolute
        "question": "Q1?",
        "options": ["x", "y", "z"],
        "answer": "C",
        "category": "cat",
        "duration": 12.0,
        "qid": "a",
    }
    back, problems = read_jsonl(out)
    assert problems == []
    for a, b in zip(items, back):
        b.line = a.line
        assert a == b
    assert back[1].bucket == "15-60 min"


# --- benchmark fixtures in their public formats ------------------------------------------


def _json(path: Path, data: Any, indent: int | None = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent), encoding="utf-8")
    return path


def _starts(path: Path) -> list[int]:
    """The lines where the top-level entries of an indent=2 JSON array start."""
    return [n for n, line in enumerate(path.read_text().splitlines(), 1) if line == "  {"]


def _videomme_row(qid: str, vid: str, answer: str, **kw: Any) -> dict[str, Any]:
    row = {
        "video_id": qid.split("-")[0],
        "duration": "short",
        "domain": "Knowledge",
        "sub_category": "Humanity & History",
        "url": f"https://www.youtube.com/watch?v={vid}",
        "videoID": vid,
        "question_id": qid,
        "task_type": "Counting Problem",
        "question": "Which decoration has the largest number?",
        "options": ["A. Apples.", "B. Candles.", "C. Berries.", "D. The same number."],
        "answer": answer,
    }
    return {**row, **kw}


def test_videomme_rows_as_jsonl(tmp_path: Path) -> None:
    rows = [
        _videomme_row("001-1", "fFjv93ACGo8", "C"),
        _videomme_row("001-2", "fFjv93ACGo8", "E"),  # broken: no option E
        _videomme_row("002-1", "abcdefghijk", "A", duration="long", task_type="OCR Problems"),
    ]
    ann = tmp_path / "videomme.jsonl"
    ann.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    items, problems = convert_videomme([ann], tmp_path / "data")
    # the broken item is kept and counted, as Video-MME's own scoring counts it (always wrong)
    assert [i.qid for i in items] == ["001-1", "001-2", "002-1"]
    broken = items.pop(1)
    assert (broken.answer, broken.scorable, broken.benchmark) == ("", False, "videomme")
    assert "answer 'E' is not among the options" in (broken.defect or "")
    first = items[0]
    assert first.video == str(tmp_path / "data" / "fFjv93ACGo8.mp4")
    assert first.options == ["Apples.", "Candles.", "Berries.", "The same number."]
    assert (first.answer, first.category, first.length, first.duration) == (
        "C",
        "Counting Problem",
        "short",
        None,
    )
    assert first.bucket == "<2 min" and items[1].bucket == "15-60 min"
    assert problems == []


def test_videomme_github_json_nests_questions_under_videos(tmp_path: Path) -> None:
    ann = _json(
        tmp_path / "videomme.json",
        [
            {
                "video_id": "001",
                "duration_category": "medium",
                "video_category": "Knowledge",
                "video_sub_category": "Humanity & History",
                "url": "https://www.youtube.com/watch?v=fFjv93ACGo8",
                "questions": [
                    {
                        "question_id": "001-1",
                        "task_type": "Object Reasoning",
                        "question": "Which statement is not correct?",
                        "choices": ["A. One.", "B. Two.", "C. Three.", "D. Four."],
                        "answer": "A",
                    },
                    {"question_id": "001-2", "task_type": "x", "question": "No choices?"},
                ],
            }
        ],
    )
    items, problems = convert_videomme([ann], tmp_path / "v")
    assert [(i.qid, i.answer, i.length, Path(i.video).name) for i in items] == [
        ("001-1", "A", "medium", "fFjv93ACGo8.mp4")
    ]
    assert len(problems) == 1 and "missing 'options'" in problems[0].reason


def test_videomme_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [_videomme_row("001-1", "fFjv93ACGo8", "B"), _videomme_row("001-2", "x", "Z")]
    path = tmp_path / "videomme" / "test-00000-of-00001.parquet"
    path.parent.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), path)
    items, problems = convert_videomme([path.parent], tmp_path / "data")
    assert [(i.qid, i.answer, i.line) for i in items] == [("001-1", "B", 1), ("001-2", "", 2)]
    assert problems == []


def _ego_question(uid: str, **kw: Any) -> dict[str, Any]:
    q = {"q_uid": uid, "google_drive_id": "drive-" + uid, "question": f"What does C do in {uid}?"}
    q.update({f"option {i}": f"C does thing {i}" for i in range(5)})
    return {**q, **kw}


def test_egoschema_questions_and_subset_answers(tmp_path: Path) -> None:
    broken = _ego_question("uid-3")
    del broken["option 4"]
    # the public files are minified: every entry is on line 1
    questions = _json(
        tmp_path / "questions.json",
        [_ego_question("uid-1"), _ego_question("uid-2"), broken, _ego_question("uid-4")],
        indent=None,
    )
    answers = _json(tmp_path / "subset_answers.json", {"uid-1": 3, "uid-2": 0, "uid-3": 1}, None)
    (tmp_path / "videos").mkdir()
    items, problems = convert_egoschema([questions, answers], tmp_path / "videos")
    assert [(i.qid, i.answer, i.answer_text) for i in items] == [
        ("uid-1", "D", "C does thing 3"),
        ("uid-2", "A", "C does thing 0"),
    ]
    assert items[0].video == str(tmp_path / "videos" / "uid-1.mp4")
    assert items[0].duration == 180.0 and items[0].bucket == "2-15 min"
    reasons = sorted(p.reason for p in problems)
    assert reasons == [
        "1 of 4 entries have no answer in the given answer files (subset_answers.json holds "
        "the public 500); skipped",
        "entry 3: missing 'option 4'",
    ]
    assert {p.line for p in problems} == {1}

    # questions alone: nothing has an answer
    items, problems = convert_egoschema([questions], tmp_path / "videos")
    assert items == [] and "4 of 4 entries have no answer" in problems[0].reason


def test_mlvu_task_files_and_video_subfolders(tmp_path: Path) -> None:
    json_dir = tmp_path / "MLVU" / "json"
    _json(
        json_dir / "1_plotQA.json",
        [
            {
                "video": "movie101_66.mp4",
                "duration": 246,
                "question": "What color is the main male character in the video?",
                "candidates": ["Yellow", "Red", "Green", "Blue"],
                "answer": "Yellow",
                "question_type": "plotQA",
            },
            {
                "video": "movie101_67.mp4",
                "duration": 300,
                "question": "Who speaks first?",
                "candidates": ["A man", "A woman", "A child", "Nobody"],
                "answer": "A dog",  # broken: not a candidate
                "question_type": "plotQA",
            },
        ],
    )
    _json(
        json_dir / "4_count.json",
        [
            {
                "video": "count_126.mp4",
                "duration": 572.86,
                "question": "How often does the trombone scene occur?",
                "candidates": ["2", "1", "5", "4"],
                "answer": "1",
                "question_type": "count",
            }
        ],
    )
    _json(
        json_dir / "9_summary.json",
        [
            {
                "video": "217.mp4",
                "duration": 4800.0,
                "question": "Please summarize this video, including its main content.",
                "answer": "The video starts with waves lapping against the rocks.",
                "question_type": "summary",
            }
        ],
    )
    videos = tmp_path / "MLVU" / "video"
    (videos / "1_plotQA").mkdir(parents=True)
    (videos / "1_plotQA" / "movie101_66.mp4").write_bytes(b"")
    items, problems = convert_mlvu([json_dir], videos)
    assert [(i.qid, i.answer, i.category) for i in items] == [
        ("1_plotQA/0", "A", "plotQA"),
        ("1_plotQA/1", "", "plotQA"),  # kept: MLVU counts it (never right)
        ("4_count/0", "B", "count"),
        ("9_summary/0", "The video starts with waves lapping against the rocks.", "summary"),
    ]
    broken = items.pop(1)
    assert broken.line == _starts(json_dir / "1_plotQA.json")[1] == 15
    assert broken.defect == "answer 'A dog' is not among the options; counted as wrong"
    assert items[0].video == str(videos / "1_plotQA" / "movie101_66.mp4")
    assert items[1].video == str(videos / "4_count" / "count_126.mp4")  # not there yet: same rule
    assert items[2].options is None and items[2].bucket == ">60 min"
    assert items[1].duration == 572.86
    assert {i.benchmark for i in items} == {"mlvu"} and problems == []


def _lvb_entry(i: int, **kw: Any) -> dict[str, Any]:
    e = {
        "video_id": "86CxyhFV9MI",
        "question": "Which subtitles appear at the same time as the man on stage?",
        "question_wo_referring_query": "Which subtitles appear at the same time?",
        "candidates": ["first", "second", "third", "fourth"],
        "correct_choice": 1,
        "position": [854, 948, 1373],
        "topic_category": "NP-News-Programs",
        "question_category": "TOS",
        "level": "L2-Relation",
        "id": f"86CxyhFV9MI_{i}",
        "video_path": "86CxyhFV9MI.mp4",
        "subtitle_path": "86CxyhFV9MI_en.json",
        "duration_group": 600,
        "starting_timestamp_for_subtitles": 0,
        "duration": 190.16,
        "view_count": 259852,
    }
    return {**e, **kw}


def test_longvideobench_val_and_test(tmp_path: Path) -> None:
    val = _json(
        tmp_path / "lvb_val.json",
        [_lvb_entry(0), _lvb_entry(1, correct_choice=7), _lvb_entry(2, candidates=["a", "a"])],
    )
    items, problems = convert_longvideobench([val], tmp_path / "videos")
    item, bad_index, repeats = items
    assert (item.qid, item.answer, item.answer_text, item.category, item.duration) == (
        "86CxyhFV9MI_0",
        "B",
        "second",
        "TOS",
        190.16,
    )
    assert (item.length, item.benchmark, item.defect) == ("600", "longvideobench", None)
    assert item.video == str(tmp_path / "videos" / "86CxyhFV9MI.mp4")
    assert problems == []
    assert [i.line for i in (bad_index, repeats)] == _starts(val)[1:]
    assert (bad_index.answer, bad_index.answer_text) == ("", "")
    assert "answer index 7 is not among the options" in (bad_index.defect or "")
    # official scoring compares letters: the repeated option stands and B stays the answer
    assert (repeats.options, repeats.answer, repeats.defect) == (
        ["a", "a"],
        "B",
        "option B repeats option A ('a')",
    )

    test = _json(tmp_path / "lvb_test_wo_gt.json", [_lvb_entry(i) for i in range(3)])
    for e in (data := json.loads(test.read_text())):
        del e["correct_choice"]
    _json(test, data)
    items, problems = convert_longvideobench([test], tmp_path / "videos")
    assert items == [] and len(problems) == 1
    assert "3 of 3 entries have no correct_choice" in problems[0].reason


def test_converted_items_read_back_the_same(tmp_path: Path) -> None:
    val = _json(tmp_path / "ann" / "lvb_val.json", [_lvb_entry(0), _lvb_entry(1, correct_choice=9)])
    items, _ = convert_longvideobench([val], tmp_path / "videos")
    out = tmp_path / "eval.jsonl"
    write_jsonl(items, out)
    assert json.loads(out.read_text().splitlines()[0])["video"] == "videos/86CxyhFV9MI.mp4"
    back, problems = read_jsonl(out)
    assert problems == []
    assert back == [dataclasses.replace(i, line=n) for n, i in enumerate(items, 1)]
    assert back[1].defect and not back[1].scorable


def test_unreadable_annotation_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    bad = tmp_path / "lvb_val.json"
    bad.write_text('[{"id": 1, "correct_choice": 0},\n {"id": 2,,}]')
    items, problems = convert_longvideobench([bad], tmp_path)
    assert items == []
    assert sorted((p.line, p.reason) for p in problems) == [
        (1, "entry 1: missing 'question'"),
        (2, "bad JSON: Expecting property name enclosed in double quotes; stopped reading"),
    ]


# --- the command -------------------------------------------------------------------------


def test_convert_command(tmp_path: Path) -> None:
    val = _json(
        tmp_path / "lvb_val.json", [_lvb_entry(0), _lvb_entry(1), _lvb_entry(2, correct_choice=9)]
    )
    out = tmp_path / "out" / "lvb.jsonl"
    runner = CliRunner()
    args = ["convert", "longvideobench", str(val), "--videos", str(tmp_path / "v"), "-o", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"longvideobench: wrote 3 items to {out}, 1 kept with data defects, 0 problems\n"
    )
    line = _starts(val)[2]
    assert result.stderr.startswith(f"kept 86CxyhFV9MI_2 (line {line}): answer index 9 is not")
    assert len(read_jsonl(out)[0]) == 3

    result = runner.invoke(cli, [*args, "--json"])
    report = json.loads(result.stdout)
    assert report["written"] == 3 and report["output"] == str(out)
    assert [(d["qid"], d["line"]) for d in report["defects"]] == [("86CxyhFV9MI_2", line)]
    assert report["problems"] == []

    broken = _json(tmp_path / "broken.json", [_lvb_entry(0), {"id": "x", "correct_choice": 0}])
    result = runner.invoke(
        cli, ["convert", "longvideobench", str(broken), "--videos", "v", "-o", str(out)]
    )
    assert result.exit_code == 1 and "entry 2: missing 'question'" in result.stderr

    clean = _json(tmp_path / "clean.json", [_lvb_entry(0)])
    result = runner.invoke(
        cli, ["convert", "longvideobench", str(clean), "--videos", "v", "-o", str(out)]
    )
    assert result.exit_code == 0 and "wrote 1 items" in result.stdout


def test_convert_command_with_nothing_to_write(tmp_path: Path) -> None:
    questions = _json(tmp_path / "questions.json", [_ego_question("u1")])
    out = tmp_path / "ego.jsonl"
    runner = CliRunner()
    args = ["convert", "egoschema", str(questions), "--videos", str(tmp_path), "-o", str(out)]
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["written"] == 0 and not out.exists()

    result = runner.invoke(cli, ["convert", "nosuch", str(questions), "--videos", ".", "-o", "x"])
    assert result.exit_code == 2 and "nosuch" in result.stderr
