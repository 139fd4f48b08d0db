"""One meaning per thing: a time reads the same wherever it is shown, and options split by one
rule whoever gives them (a person, a client, a data set)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from vagent_hf.evidence import evidence_line, span_text

from vagent.agent.followup import resolve
from vagent.agent.nodes.finish import abstain_text, citation, why
from vagent.bench.haystack import write_srt
from vagent.choices import BadOptions, parse
from vagent.errors import VagentError
from vagent.evaldata.answers import clean_options
from vagent.evaldata.subtitles import srt_text
from vagent.text.subtitles import parse_srt
from vagent.timefmt import clock, hms, span, srt_time, whole_seconds
from vagent.types import Evidence


def test_the_rounding_rule() -> None:
    assert [whole_seconds(t) for t in (0, 59.4, 59.5, 59.6, -3, float("nan"))] == [
        0,
        59,
        60,
        60,
        0,
        0,
    ]
    assert [clock(t) for t in (0, 59.4, 59.6, 75.4, 3599.5, 3725)] == [
        "0:00",
        "0:59",
        "1:00",
        "1:15",
        "1:00:00",
        "1:02:05",
    ]
    assert hms(59.6) == "00:01:00" and hms(3725) == "01:02:05"
    assert span(9.5, 59.6) == "0:10-1:00"


def test_59_6_seconds_reads_1_00_everywhere() -> None:
    """Citations, the abstain line, a follow-up's resolved question and the answerer's prompt
    all show 59.6 s as 1:00 (the citation used to say 0:59 and the prompt 1:00)."""
    moment: dict[str, Any] = {
        "video": "/v/cook.mp4",
        "video_id": 1,
        "segment_id": 7,
        "start": 59.6,
        "end": 70.0,
        "score": 1.0,
        "channels": ["text"],
        "texts": [{"source": "subtitle", "start": 59.6, "end": 62.0, "text": "salt"}],
        "frame_times": [59.6],
        "missing": False,
    }
    assert 'subtitle at 1:00: "salt"' in why(moment)
    near = citation(moment, near_miss=True)
    assert "cook.mp4 1:00-1:10" in abstain_text([near])
    turn = {
        "question": "Who adds salt?",
        "answer": "the cook",
        "citations": [near | {"near_miss": False}],
    }
    resolved, anchor = resolve("What happens right before that?", [turn])
    assert anchor is not None and anchor["before"] == 59.6
    assert "right before 1:00" in resolved
    ev = Evidence(**{k: v for k, v in moment.items()})
    assert "cook.mp4 1:00-1:10" in evidence_line(0, ev)
    assert span_text(moment["texts"][0]) == '(subtitle 1:00-1:02) "salt"'


@pytest.mark.parametrize(
    ("raw", "options"),
    [
        (["A) red", "B) blue"], ["red", "blue"]),
        (["(A) red", "[B] blue"], ["red", "blue"]),
        (["a. red", "b: blue"], ["red", "blue"]),
        (["red", "blue"], ["red", "blue"]),
        (["A.I. writes", "B.B. King sings"], ["A.I. writes", "B.B. King sings"]),
    ],
)
def test_every_reader_splits_options_alike(raw: list[str], options: list[str]) -> None:
    assert parse(raw) == parse(raw, strict=False) == clean_options(raw) == options


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (["A) red", "blue"], "option B ('blue') has no letter while others have"),
        (["red", "B) blue"], "option A ('red') has no letter"),
        (["A) red", "C) blue"], "option B ('C) blue') is lettered C, expected B"),
    ],
)
def test_a_list_lettered_in_part_is_kept_by_data_sets_and_refused_to_people(
    raw: list[str], says: str
) -> None:
    """``['A) red', 'blue']`` used to be ['red', 'blue'] when asked and ['A) red', 'blue'] in a
    data set: now a data set keeps it as written, and a person is told what to fix."""
    assert clean_options(raw) == parse(raw, strict=False) == raw
    with pytest.raises(BadOptions, match=says.replace("(", r"\(").replace(")", r"\)")) as err:
        parse(raw)
    assert isinstance(err.value, VagentError) and isinstance(err.value, ValueError)
    assert "\n" not in str(err.value)


def test_subtitle_files_written_by_eval_and_bench_read_back_to_the_millisecond(
    tmp_path: Path,
) -> None:
    cues = [(0.0, 1.5, "first"), (59.6, 61.0005, "second"), (3723.4567, 3725.0, "third")]
    assert srt_time(59.6) == "00:00:59,600" and srt_time(-2) == "00:00:00,000"
    write_srt(tmp_path / "a.srt", cues)
    text = (tmp_path / "a.srt").read_text()
    assert text == srt_text(cues)
    spans, problems = parse_srt(text, "a.srt")
    assert problems == []
    assert [(s.start, s.end, s.text) for s in spans] == [
        (0.0, 1.5, "first"),
        (59.6, 61.001, "second"),
        (3723.457, 3725.0, "third"),
    ]
