"""`vagent bench ingest` runs and reports consistent figures (a smoke test, not a timing test)."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TINY_CLIP


def _bench(tmp_path: Path, *args: str) -> dict:  # type: ignore[type-arg]
    proc = subprocess.run(
        [sys.executable, "-m", "vagent", "bench", *args, "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "VAGENT_HOME": str(tmp_path / "home")},
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


@pytest.mark.slow
def test_bench_ingest_reports_ratios(tmp_path: Path) -> None:
    r = _bench(
        tmp_path,
        "ingest",
        "--seconds",
        "20",
        "--long-seconds",
        "40",
        "--size",
        "320x240",
        "--encoder",
        TINY_CLIP,
    )
    d, e = r["decode_only"]["gop"]["video_s_per_s"], r["encode_only"]["video_s_per_s"]
    assert r["bound_video_s_per_s"] == pytest.approx(1 / (1 / d + 1 / e), rel=0.02)
    assert r["ratio_to_bound"] == pytest.approx(
        r["end_to_end_video_s_per_s"] / r["bound_video_s_per_s"], rel=0.02
    )
    assert r["decode_only"]["gop"]["frames"] == r["decode_only"]["sequential"]["frames"] == 20
    assert r["decode_only"]["gop"]["packets_decoded_fraction"] < 1.0
    assert set(r["peak_rss_mib"]) == {"20s", "40s"}
    assert r["speedup_vs_naive"] > 0 and r["semantic"] is False


@pytest.mark.slow
def test_bench_needle_finds_needles_in_a_short_haystack(tmp_path: Path) -> None:
    r = _bench(
        tmp_path,
        "needle",
        "--hours",
        "0.03",
        "--depths",
        "0.5",
        "--plot",
        str(tmp_path / "heat.png"),
    )
    spoken = ("spoken",) if shutil.which("espeak-ng") else ()  # said aloud where it can be
    assert {(row["modality"], row["kind"]) for row in r["rows"]} == {
        (m, k) for m in ("on-screen", "subtitle", *spoken) for k in ("shares-words", "reworded")
    }
    assert r["summary"]["shares-words"]["subtitle"]["0.03h"]["recall@5"] == 1.0
    assert r["index_video_s_per_s"]["0.03h"] > 0
    # every question was also asked end to end with the packaged SmolLM2 (hf-text)
    assert all(row["answerer"] == "hf-text" and row["answer"] for row in r["rows"])
    cell = r["summary"]["shares-words"]["subtitle"]["0.03h"]
    assert 0.0 <= cell["answer_accuracy"] <= 1.0
    assert any(row["cited"] for row in r["rows"])  # citations point at the needle's moment
    assert (tmp_path / "heat.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_bench_ask_reports_the_targets_on_the_quickstart_library(tmp_path: Path) -> None:
    from vagent.bench.ask import table

    r = _bench(
        tmp_path, "ask", "--hours", "0.05", "--haystack-seconds", "120", "--planner", "rules"
    )
    assert r["latency_ms"]["plan"]["p50"] >= 0 and r["questions"] == 10
    q = r["quickstart"]
    assert q["answerer"] == "hf-text" and len(q["ask_ms"]) == len(q["questions"]) == 4
    assert len(q["cold_search_ms"]) == 3 and q["cold_search_p50_ms"] > 0
    assert q["cold_ask_ms"] > q["cold_search_p50_ms"] * 0.5 and q["plan_p50_ms"] >= 0
    text = table(r)
    for line in ("plan p50 (quickstart)", "ask p50 (4 questions)", "cold `vagent search` p50"):
        assert line in text
    assert "target < 3000 ms" in text


def test_spoken_distractors_are_many_different_sentences_and_hold_no_needle_answer() -> None:
    from vagent.bench.haystack import distractors
    from vagent.bench.needles import SPOKEN

    said = distractors(300)
    assert len(said) == len(set(said)) == 300
    # a hit on a distractor is never also a right answer
    for n in SPOKEN:
        assert not any(n.answer.lower() in s.lower() for s in said), n.answer


def test_spoken_distractors_leave_the_needles_clear_and_fill_a_share_of_the_time() -> None:
    from vagent.bench.haystack import NEEDLE_CLEARANCE, place_speech

    needles = [(100.0, 3.0), (400.0, 2.5)]
    lengths = [2.0, 2.5, 3.0]
    placed = place_speech(600.0, needles, lengths)
    spans = sorted([(t, t + lengths[i]) for t, i in placed])
    assert all(b <= c for (_, b), (c, _) in itertools.pairwise(spans))  # never two at once
    for t, n in needles:
        assert all(b <= t - NEEDLE_CLEARANCE or a >= t + n + NEEDLE_CLEARANCE for a, b in spans)
    assert spans[-1][1] <= 599.0
    assert {i for _, i in placed} == {0, 1, 2}
    speech = sum(b - a for a, b in spans) / 600.0
    assert 0.2 < speech < 0.5, speech  # real work for the ASR, but mostly still silence


def test_bench_needle_rejects_an_unknown_needle_kind_before_writing(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "vagent", "bench", "needle", "--needles", "spoken,smell"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "VAGENT_HOME": str(tmp_path / "home")},
    )
    assert proc.returncode == 2
    assert "--needles" in proc.stderr and "smell" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []  # no haystack cache made


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="spoken needles need espeak-ng")
def test_bench_needle_spoken_only_indexes_speech_alone(tmp_path: Path) -> None:
    r = _bench(
        tmp_path,
        "needle",
        "--hours",
        "0.02",
        "--depths",
        "0.5",
        "--needles",
        "spoken",
        "--answerer",
        "none",
    )
    assert r["needles"] == ["spoken"] and r["text_tracks"] == "speech"
    assert {(row["modality"], row["kind"]) for row in r["rows"]} == {
        ("spoken", "shares-words"),
        ("spoken", "reworded"),
    }
    assert r["ocr_frames"]["0.02h"]["read"] == 0  # no OCR when no needle is on screen
    assert 0.1 < r["speech_share"]["0.02h"] < 0.6  # spoken distractors around the needle
    assert r["summary"]["shares-words"]["spoken"]["0.02h"]["recall@5"] == 1.0
    (video,) = tmp_path.glob(".bench/*.mp4")
    import av

    with av.open(str(video)) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (160, 120)
        assert len(c.streams.audio) == 1
