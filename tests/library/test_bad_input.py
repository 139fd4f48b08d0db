"""A batch with bad files in it: one line per bad file, the rest indexed, nothing lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import pytest

from tests.conftest import COLOUR, TINY_CLIP
from vagent import Library
from vagent.synth import make_audio_only


def faststart_copy(src: Path, dst: Path) -> Path:
    """Remux with the index (moov) first, as streaming MP4s are: a cut file still opens."""
    with av.open(str(src)) as i, av.open(str(dst), "w", options={"movflags": "faststart"}) as o:
        out = o.add_stream_from_template(i.streams.video[0])
        for pkt in i.demux(i.streams.video[0]):
            if pkt.dts is None:
                continue
            pkt.stream = out
            o.mux(pkt)
    return dst


def cut(src: Path, dst: Path, keep: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


@pytest.fixture
def batch(videos: Path, tmp_path: Path) -> dict[str, Path]:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "zero.mp4").write_bytes(b"")
    (bad / "notes.mp4").write_text("meeting notes, not a video\n" * 100)
    make_audio_only(bad / "podcast.m4a")
    full = faststart_copy(videos / "rgb.mp4", tmp_path / "fast.mp4")
    cut(full, bad / "header_claims_more.mp4", 0.5)  # moov says 30 s, data stops near 15 s
    cut(videos / "rgb.mp4", bad / "truncated.mp4", 0.6)  # moov at the end: gone
    (tmp_path / "empty_dir").mkdir()
    return {
        "good": videos / "yw.mp4",
        "zero": bad / "zero.mp4",
        "text": bad / "notes.mp4",
        "audio": bad / "podcast.m4a",
        "short": bad / "header_claims_more.mp4",
        "truncated": bad / "truncated.mp4",
        "nodir": tmp_path / "empty_dir",
        "missing": tmp_path / "missing.mp4",
        "full": full,
    }


REASONS = {
    "zero": "empty file",
    "text": "not a readable video",
    "audio": "audio-only file has no speech",  # a tone: indexed by speech, of which it has none
    "short": "truncated or corrupt: frames end at",
    "truncated": "not a readable video",
    "nodir": "directory has no video files",
    "missing": "no such file or directory",
}


@pytest.mark.usefixtures("colour_plugin")
@pytest.mark.usefixtures("warnings_shown")  # in-process stderr, as the CLI prints it
def test_bad_files_reported_rest_indexed_existing_kept(
    batch: dict[str, Path], videos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = Library.open("lib")
    lib.index([str(videos / "rgb.mp4")], encoder=COLOUR, progress=False)
    before = lib.search("red", k=1)[0]
    order = ["zero", "text", "good", "audio", "short", "truncated", "nodir", "missing"]
    report = lib.index([str(batch[k]) for k in order], progress=False)
    assert [Path(p).name for p in report.indexed] == ["yw.mp4"]
    failed = {Path(p).name: reason for p, reason in report.failed}
    assert len(failed) == len(REASONS)
    for key, reason in REASONS.items():
        assert reason in failed[batch[key].name], (key, failed[batch[key].name])
    err_lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(err_lines) == len(REASONS)
    assert all(str(batch[k].name) in " ".join(err_lines) for k in REASONS)
    assert lib.search("red", k=1)[0] == before
    assert lib.info()["videos"].__len__() == 2


@pytest.mark.usefixtures("colour_plugin")
def test_allow_partial_indexes_the_readable_part(batch: dict[str, Path]) -> None:
    lib = Library.open("lib")
    report = lib.index([str(batch["short"])], encoder=COLOUR, allow_partial=True, progress=False)
    assert report.indexed and not report.failed
    duration = lib.info()["videos"][0]["duration"]
    assert 5.0 < duration < 25.0


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
@pytest.mark.usefixtures("colour_plugin")
def test_unreadable_file(videos: Path) -> None:
    p = videos / "rgb.mp4"
    p.chmod(0)
    report = Library.open("lib").index([str(p)], encoder=COLOUR, progress=False)
    assert "permission denied" in report.failed[0][1].lower()


def test_cli_exit_code_and_one_line_per_bad_file(batch: dict[str, Path], tmp_path: Path) -> None:
    env = {**os.environ, "VAGENT_HOME": str(tmp_path / "home")}
    args = [str(batch[k]) for k in ("good", "zero", "text", "audio")]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "vagent",
            "index",
            *args,
            "--library",
            "cli",
            "--encoder",
            TINY_CLIP,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 3
    assert "Traceback" not in proc.stderr
    assert "indexed 1," in proc.stdout and "failed 3" in proc.stdout
