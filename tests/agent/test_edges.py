"""Edges of the command line: names that cannot be folders, dot-names, ambiguous video names,
queries with bytes that are not UTF-8, a first index that fails, a full disk, exit codes."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import COLOUR, REPO
from tests.conftest import run_vagent as _vagent
from tests.conftest import vagent_home as _home
from vagent import Library, vectors
from vagent.errors import BadName, VagentError

pytestmark = pytest.mark.usefixtures("colour_plugin")
ROOT = REPO
REAL_WRITE = vectors.write_atomic


def _one_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_long_library_name_is_one_line(videos: Path) -> None:
    name = "a" * 300
    for args in (["info", "-l", name], ["index", str(videos), "-l", name, "--encoder", COLOUR]):
        code, _, err = _vagent(*args)
        assert code == 2 and "300 bytes long" in _one_error(err) and "at most 255" in err
    assert not _home().exists()
    with pytest.raises(BadName):
        Library.open("x\x00y")


def test_library_path_that_is_a_file(videos: Path) -> None:
    for lib in (videos / "rgb.mp4", videos / "rgb.mp4" / "sub"):
        code, _, err = _vagent("index", str(videos), "-l", str(lib), "--encoder", COLOUR)
        assert code == 2 and "rgb.mp4 is a file, not a folder" in _one_error(err)
    assert (videos / "rgb.mp4").is_file() and not _home().exists()


def test_dot_name_lives_under_vagent_home(
    videos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = _vagent("index", str(videos / "rgb.mp4"), "-l", ".hidden",
                             "--encoder", COLOUR, "--text", "none")  # fmt: skip
    assert code == 0, err
    assert (_home() / ".hidden" / "catalog.db").exists()
    assert not (tmp_path / ".hidden").exists()
    assert Library.open("./here").root == tmp_path.resolve() / "here"  # a separator makes it a path
    assert Library.open(".").root == tmp_path.resolve()


def test_remove_refuses_an_ambiguous_name_and_lists_the_matches(videos: Path) -> None:
    for sub, src in (("x", "rgb.mp4"), ("y", "yw.mp4")):
        (videos / sub).mkdir()
        shutil.copy(videos / src, videos / sub / "intro.mp4")
    lib = Library.open("lib")
    lib.index([str(videos / "x"), str(videos / "y")], encoder=COLOUR, text="none", progress=False)
    code, _, err = _vagent("remove", "intro.mp4", "-l", "lib")
    line = _one_error(err)
    assert code == 2 and "'intro.mp4' matches 2 videos" in line
    assert str(videos / "x" / "intro.mp4") in line and str(videos / "y" / "intro.mp4") in line
    assert len(Library.open("lib").videos()) == 2  # nothing removed
    with pytest.raises(VagentError, match="matches 2 videos"):
        lib.remove(["intro.mp4"])
    assert lib.remove(["x/intro.mp4"]) == [str(videos / "x" / "intro.mp4")]
    assert lib.remove([str(videos / "y" / "intro.mp4")]) == [str(videos / "y" / "intro.mp4")]
    assert lib.videos() == []


def test_query_with_bytes_that_are_not_utf8(videos: Path) -> None:
    """`vagent search $'\\xff'` reaches Python as a surrogate escape; it was a TypeError in the
    text tokenizer. It is searched with the bad bytes replaced, and says so."""
    srt = "1\n00:00:01,000 --> 00:00:04,000\nthe red scene starts here\n"
    (videos / "rgb.srt").write_text(srt)
    code, _, err = _vagent("index", str(videos / "rgb.mp4"), "-l", "lib", "--encoder", COLOUR,
                           "--text", "subtitles")  # fmt: skip
    assert code == 0, err
    code, out, err = _vagent("search", "red \udcff scene", "-l", "lib", "--json")
    assert code == 0 and "Traceback" not in err, err
    assert "not UTF-8" in err and json.loads(out)[0]["start"] == 0.0
    hits = Library.open("lib").search("\udcff\udcfe", k=2)  # the Python API takes it too
    assert isinstance(hits, list)


def test_failed_first_index_leaves_no_library(videos: Path) -> None:
    code, out, err = _vagent("index", "missing.mp4", "-l", "fresh", "--encoder", COLOUR,
                             "--text", "none")  # fmt: skip
    assert code == 2, err  # every file failed: nothing was done
    assert "missing.mp4: no such file or directory" in _one_error(err)
    assert "failed 1" in out and not _home().exists()
    report = Library.open("fresh").index(
        [str(videos / "nope.mp4")], encoder=COLOUR, text="none", progress=False
    )
    assert len(report.failed) == 1 and not Library.open("fresh").exists()
    assert not (_home() / "fresh").exists()
    # the next index with another encoder is not refused by a library pinned to the first one
    code, out, err = _vagent("index", str(videos / "rgb.mp4"), "-l", "fresh",
                             "--encoder", "colour/wide", "--text", "none")  # fmt: skip
    assert code == 0 and "indexed 1" in out, err
    # a library that already holds videos is kept whatever a later run does
    code, out, err = _vagent("index", "missing.mp4", "-l", "fresh")
    assert code == 2 and len(Library.open("fresh").videos()) == 1


def test_exit_codes_follow_the_readme(videos: Path) -> None:
    """0 success; 1 some files failed (the rest are in); 2 nothing was done."""
    args = ["-l", "lib", "--encoder", COLOUR, "--text", "none"]
    assert _vagent("index", str(videos / "rgb.mp4"), *args)[0] == 0
    assert _vagent("index", str(videos / "rgb.mp4"), "gone.mp4", *args)[0] == 1  # unchanged + 1
    assert _vagent("index", "gone.mp4", *args)[0] == 2
    assert _vagent("index", "--fps", "2", *args)[0] == 2  # usage errors: one line, exit 2
    code, _, err = _vagent("index", "-l", "lib")
    assert code == 2 and "Missing argument" in _one_error(err)
    code, out, err = _vagent()
    assert code == 0 and out.startswith("Usage: vagent") and err == ""  # bare: the help


def _enospc_after(n: int) -> Callable[..., str]:
    """A vectors.write_atomic that fails like a full disk from its ``n``-th call on: it writes
    part of the temp file first, as a real short write does."""
    real = vectors.write_atomic
    calls = {"n": 0}

    def write(index_save: Callable[[str], None], target: Path) -> str:
        calls["n"] += 1
        if calls["n"] < n:
            return real(index_save, target)

        def short(path: str) -> None:
            Path(path).write_bytes(b"\0" * 100)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)

        return real(short, target)

    return write


def test_disk_full_midway_keeps_what_landed(videos: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kinds = 2  # frames and segments (no text track)
    monkeypatch.setattr(vectors, "write_atomic", _enospc_after(kinds + 1))
    code, out, err = _vagent("index", str(videos), "-l", "lib", "--encoder", COLOUR,
                             "--text", "none")  # fmt: skip
    line = _one_error(err)
    assert code == 1 and "indexed 1," in out, err  # the first video landed: exit 1
    assert "No space left on device" in line and "run the same command again" in line
    root = _home() / "lib"
    assert not list(root.glob("*.tmp"))
    monkeypatch.setattr(vectors, "write_atomic", REAL_WRITE)
    assert len(Library.open("lib").videos()) == 1
    code, out, err = _vagent("index", str(videos), "-l", "lib")
    assert code == 0 and "indexed 1, replaced 0, moved 0, unchanged 1" in out, err


def test_disk_full_before_anything_lands(videos: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors, "write_atomic", _enospc_after(1))
    code, out, err = _vagent("index", str(videos), "-l", "lib", "--encoder", COLOUR,
                             "--text", "none")  # fmt: skip
    assert code == 2 and out == "" and "No space left on device" in _one_error(err)
    left = sorted(p.name for p in (_home() / "lib").iterdir()) if (_home() / "lib").exists() else []
    assert left == []  # a first index that landed nothing leaves nothing


DRIVER = textwrap.dedent(
    """
    import io, json, os, sys
    sys.path.insert(0, os.getcwd())
    from contextlib import redirect_stderr, redirect_stdout
    from pathlib import Path
    from tests.plugins import colour
    from vagent import plugins
    from vagent.cli import main

    plugins.add_plugin("testcolour", colour)
    disk, videos = Path(sys.argv[1]), Path(sys.argv[2])
    os.environ["VAGENT_HOME"] = str(disk)

    def vagent(*argv):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(list(argv))
                code = 0
            except SystemExit as exc:
                code = exc.code
        return {"code": code, "out": out.getvalue(), "err": err.getvalue()}

    lib = ["-l", "lib", "--encoder", "colour", "--text", "none"]
    runs = {"first": vagent("index", str(videos / "rgb.mp4"), *lib)}
    filler = disk / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\\0" * 65536)
                f.flush()
        except OSError:
            pass
    runs["full"] = vagent("index", str(videos / "yw.mp4"), *lib)
    runs["search_full"] = vagent("search", "red", "-l", "lib", "-k", "1", "--json")
    runs["left"] = sorted(p.name for p in (disk / "lib").iterdir())
    filler.unlink()
    runs["search"] = vagent("search", "red", "-l", "lib", "-k", "1", "--json")
    runs["again"] = vagent("index", str(videos / "yw.mp4"), *lib)
    print(json.dumps(runs))
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare(1) to mount a tmpfs")
def test_real_full_disk_on_a_tiny_tmpfs(videos: Path, tmp_path: Path) -> None:
    """A real ENOSPC: the library on a 2 MiB tmpfs (in a private mount namespace) that fills."""
    disk = tmp_path / "disk"
    disk.mkdir()
    (tmp_path / "driver.py").write_text(DRIVER)
    mount = 'mount -t tmpfs -o size=2m tmpfs "$0" && exec "$@"'
    cmd = ["unshare", "-rm", "sh", "-c", mount, str(disk), sys.executable,
           str(tmp_path / "driver.py"), str(disk), str(videos)]  # fmt: skip
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("this machine does not allow a private mount namespace")
    proc = subprocess.run(
        cmd, capture_output=True, text=True, cwd=ROOT, check=False, env={**os.environ}
    )
    assert proc.returncode == 0, proc.stderr
    runs = json.loads(proc.stdout.splitlines()[-1])
    assert runs["first"]["code"] == 0, runs["first"]
    full = runs["full"]
    assert full["code"] == 2, full
    line = _one_error(full["err"])
    assert "disk is full" in line or "No space left" in line or "disk I/O" in line, line
    # no temp files, and no short vector files of the generation that failed (FAISS's writer
    # used to print "close error" and keep a truncated file)
    assert not [n for n in runs["left"] if n.endswith((".tmp", "-2.faiss"))], runs["left"]
    assert "close error" not in proc.stderr
    for run in (runs["search_full"], runs["search"]):  # readers still answer, full or not
        assert run["code"] == 0 and json.loads(run["out"])[0]["start"] == 0.0, run
    assert runs["search"]["code"] == 0 and json.loads(runs["search"]["out"])[0]["start"] == 0.0
    assert runs["again"]["code"] == 0 and "indexed 1" in runs["again"]["out"], runs["again"]


def test_question_with_bytes_that_are_not_utf8(videos: Path) -> None:
    """`vagent ask $'...\\xff'`: asked with the bad bytes replaced, and the thread is kept."""
    from tests.plugins import scripted
    from vagent import plugins

    (videos / "rgb.srt").write_text("1\n00:00:12,000 --> 00:00:15,000\nthe parcel is green\n")
    plugins.add_plugin("testscripted", scripted)
    try:
        code, _, err = _vagent("index", str(videos / "rgb.mp4"), "-l", "lib", "--encoder",
                               COLOUR, "--text", "subtitles")  # fmt: skip
        assert code == 0, err
        code, out, err = _vagent("ask", "what colour is the parcel \udcff?", "-l", "lib",
                                 "--answerer", "scripted", "--json")  # fmt: skip
        assert code == 0 and "Traceback" not in err, err
        res = json.loads(out)
        code, out, err = _vagent("ask", "and then \udcfe?", "-l", "lib", "--answerer", "scripted",
                                 "--thread", res["thread_id"], "--json")  # fmt: skip
        assert code == 0 and "Traceback" not in err, err
    finally:
        plugins.remove_plugin("testscripted")
