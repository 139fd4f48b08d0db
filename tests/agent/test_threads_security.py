"""Threads (``threads.sqlite``) are data, never code: a planted checkpoint runs nothing and
breaks only its own thread; a garbage file leaves asks working (not kept, one line); `check`
and `repair` find and set aside what is damaged; the file is private to its owner.

A real library (PyAV, FAISS, SQLite, MiniLM on subtitles) with the real LangGraph checkpointer
and the named ``scripted`` test answerer.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import ormsgpack
import pytest
from click.testing import CliRunner

from tests.conftest import COOKING_SRT
from tests.plugins import colour
from vagent import Agent, Library, plugins
from vagent.agent.threadstore import (
    THREADS_DB,
    BrokenThread,
    ThreadsUnusable,
    check_threads,
    repair_threads,
)
from vagent.cli import cli
from vagent.synth import make_video

Q = "What do we bake?"


pytestmark = pytest.mark.usefixtures("colour_scripted")


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One library of a video with subtitles, indexed once; tests work on copies."""
    plugins.add_plugin("testcolour", colour)
    try:
        base = tmp_path_factory.mktemp("threads")
        videos = base / "videos"
        videos.mkdir()
        make_video(videos / "cook.mp4", ["red", "green", "blue"], 10.0, size=(160, 120))
        (videos / "cook.srt").write_text(COOKING_SRT)
        lib = Library.open(base / "lib")
        assert lib.index([videos], encoder="colour", text="subtitles", progress=False).ok
        lib.close()
    finally:
        plugins.remove_plugin("testcolour")
    return base / "lib"


@pytest.fixture
def lib(indexed: Path, tmp_path: Path) -> Iterator[Library]:
    shutil.copytree(indexed, tmp_path / "lib")
    library = Library.open(tmp_path / "lib")
    yield library
    library.close()


def _agent(lib: Library) -> Agent:
    return Agent.open(lib, answerer="scripted", planner="rules")


def _plant(db: Path, thread: str, marker: Path) -> None:
    """Rewrite every checkpoint of ``thread`` so that its turns hold a msgpack extension value
    naming ``os.system`` (LangGraph's constructor ext: module, name, args), as an attacker with
    write access to the library folder would."""
    cmd = f"touch {shlex.quote(str(marker))}"
    evil = ormsgpack.Ext(1, ormsgpack.packb(["os", "system", [cmd]]))
    opt = ormsgpack.OPT_NON_STR_KEYS
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT rowid, checkpoint FROM checkpoints WHERE thread_id = ? AND type = 'msgpack'",
            (thread,),
        ).fetchall()
        assert rows
        for rowid, blob in rows:
            cp = ormsgpack.unpackb(blob, option=opt)
            cp["channel_values"]["turns"] = [evil]
            new = ormsgpack.packb(cp, option=opt)
            conn.execute("UPDATE checkpoints SET checkpoint = ? WHERE rowid = ?", (new, rowid))


def test_a_planted_checkpoint_runs_no_code_and_breaks_only_its_thread(
    lib: Library, tmp_path: Path
) -> None:
    with _agent(lib) as agent:
        agent.ask(Q, thread_id="victim")
        agent.ask(Q, thread_id="other")
    marker = tmp_path / "owned"
    _plant(lib.root / THREADS_DB, "victim", marker)
    with _agent(lib) as agent:
        with pytest.raises(BrokenThread) as err:
            agent.ask("And then?", thread_id="victim")
        with pytest.raises(BrokenThread):
            agent.history("victim")
        assert not marker.exists(), "the planted checkpoint ran a shell command"
        msg = str(err.value)
        assert "\n" not in msg and "thread victim" in msg and "os.system" in msg
        assert f"vagent repair --library {lib.root}" in msg
        assert "three spoons" in agent.ask("How much salt after the break?").answer  # new thread
        assert len(agent.history("other")) == 1
        agent.ask("And the oven?", thread_id="other")
        assert len(agent.history("other")) == 2
    args = ["ask", "And then?", "--library", str(lib.root), "--answerer", "scripted"]
    cli_run = CliRunner().invoke(cli, [*args, "--planner", "rules", "--thread", "victim"])
    assert cli_run.exit_code == 2 and cli_run.stderr.count("\n") == 1, cli_run.output
    assert cli_run.stderr.startswith("error: thread victim") and "vagent repair" in cli_run.stderr
    found = check_threads(lib.root)
    assert len(found) == 1 and "thread victim" in found[0] and "os.system" in found[0]
    assert not marker.exists()
    done = repair_threads(lib.root)
    assert len(done) == 1 and "thread victim" in done[0] and "dropped" in done[0]
    aside = sorted(lib.root.glob(f"{THREADS_DB}.broken-*"))
    assert len(aside) == 1 and stat.S_IMODE(aside[0].stat().st_mode) == 0o600
    with sqlite3.connect(aside[0]) as conn:  # the evidence is kept aside
        kept = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = 'victim'")
        assert kept.fetchone()[0] > 0
    assert check_threads(lib.root) == []
    with _agent(lib) as agent:
        assert agent.history("victim") == []
        agent.ask(Q, thread_id="victim")  # the name starts afresh
        assert len(agent.history("victim")) == 1 and len(agent.history("other")) == 2
    assert not marker.exists()


def test_a_garbage_threads_file_still_answers_without_keeping_the_thread(lib: Library) -> None:
    db = lib.root / THREADS_DB
    db.write_bytes(os.urandom(3000))
    with _agent(lib) as agent:
        res = agent.ask("How much salt after the break?")
        assert "three spoons" in res.answer
        assert len(res.notes) == 1 and str(db) in res.notes[0]
        assert "vagent repair --library" in res.notes[0] and "not kept" in res.notes[0]
        with pytest.raises(ThreadsUnusable, match="cannot continue thread t1: threads file"):
            agent.ask(Q, thread_id="t1")
    runner = CliRunner()
    args = ["ask", Q, "--library", str(lib.root), "--answerer", "scripted", "--planner", "rules"]
    ok = runner.invoke(cli, args)
    assert ok.exit_code == 0, ok.output
    assert "bread" in ok.stdout
    notes = [line for line in ok.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and str(db) in notes[0] and "Traceback" not in ok.stderr
    bad = runner.invoke(cli, [*args, "--thread", "t1"])
    assert bad.exit_code == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1 and "vagent repair --library" in bad.stderr
    found = check_threads(lib.root)
    assert len(found) == 1 and str(db) in found[0]
    done = repair_threads(lib.root)
    assert len(done) == 1 and "saved aside" in done[0]
    assert not db.exists() and len(list(lib.root.glob(f"{THREADS_DB}.broken-*"))) == 1
    with _agent(lib) as agent:
        res = agent.ask(Q, thread_id="t1")
        assert res.notes == [] and len(agent.history("t1")) == 1


def test_a_threads_file_of_another_shape_is_one_line(lib: Library) -> None:
    db = lib.root / THREADS_DB
    with sqlite3.connect(db) as conn:  # valid SQLite, but not LangGraph's tables
        conn.execute("CREATE TABLE checkpoints (x)")
    with _agent(lib) as agent:
        res = agent.ask(Q)
    assert "bread" in res.answer and len(res.notes) == 1 and "no such column" in res.notes[0]
    assert len(check_threads(lib.root)) == 1
    assert repair_threads(lib.root) and check_threads(lib.root) == []


def test_a_new_library_and_its_threads_are_private(videos: Path, tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask: files world-readable unless vagent says otherwise
    try:
        lib = Library.open(tmp_path / "home" / "fresh")
        assert lib.index([videos / "yw.mp4"], encoder="colour", text="none", progress=False).ok
        with _agent(lib) as agent:
            agent.ask(Q, thread_id="t")
            for name in (THREADS_DB, f"{THREADS_DB}-wal", f"{THREADS_DB}-shm"):
                path = lib.root / name
                if path.exists():
                    assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
        lib.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(lib.root.stat().st_mode) == 0o700
    assert (lib.root / THREADS_DB).exists()


def test_a_linked_threads_file_is_never_opened(lib: Library, tmp_path: Path) -> None:
    victim = tmp_path / "someone-elses.sqlite"  # another program's database, outside the library
    with sqlite3.connect(victim) as conn:
        conn.execute("CREATE TABLE notes (text)")
    before = victim.read_bytes()
    (lib.root / THREADS_DB).symlink_to(victim)
    with _agent(lib) as agent:
        res = agent.ask(Q)
    assert "bread" in res.answer and len(res.notes) == 1 and "symbolic link" in res.notes[0]
    assert victim.read_bytes() == before and not Path(f"{victim}-wal").exists()
    assert "symbolic link" in check_threads(lib.root)[0]
    assert "saved aside" in repair_threads(lib.root)[0]
    assert victim.read_bytes() == before and not (lib.root / THREADS_DB).exists()
    with _agent(lib) as agent:
        assert agent.ask(Q, thread_id="t").notes == []


def test_a_threads_file_failing_mid_ask_still_answers(lib: Library) -> None:
    with _agent(lib) as agent:
        assert agent.threads.threads is not None
        agent.threads.threads.conn.close()  # SQLite fails every later call, as on a lost disk
        res = agent.ask("How much salt after the break?")
        assert "three spoons" in res.answer
        assert len(res.notes) == 1 and "not kept" in res.notes[0]
        with pytest.raises(ThreadsUnusable, match="cannot continue thread t"):
            agent.ask(Q, thread_id="t")
