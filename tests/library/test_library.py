"""Index and search through the Python API, with the colour encoder so rankings are checkable."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import update

import vagent.library
from tests.conftest import COLOUR
from vagent import Library
from vagent.catalog.schema import Meta
from vagent.components.kinds import DECODER, VISUAL_ENCODER
from vagent.errors import (
    BadNumber,
    EncoderMismatch,
    LibraryNotFound,
    SchemaMismatch,
    VagentError,
)
from vagent.library import LibrarySpec, PinnedSetting
from vagent.synth import make_video

pytestmark = pytest.mark.usefixtures("colour_plugin")


def _index(lib: Library, paths: list[Path], **kw: object) -> object:
    """Frames only: these tests are about the visual channel (the text track has its own)."""
    kw.setdefault("text", "none")
    return lib.index([str(p) for p in paths], encoder=COLOUR, progress=False, **kw)


def test_search_returns_the_right_segment_with_timestamps(videos: Path) -> None:
    lib = Library.open("lectures")
    report = _index(lib, [videos])
    assert sorted(Path(p).name for p in report.indexed) == ["rgb.mp4", "yw.mp4"]
    for colour, start in (("red", 0.0), ("green", 10.0), ("blue", 20.0)):
        top = lib.search(f"something {colour}", k=3)[0]
        assert Path(top.video).name == "rgb.mp4"
        assert (top.start, top.end) == (start, start + 10.0)
        assert start <= top.frame_time < start + 10.0
        assert top.score >= top.segment_score - 1e-6
    top = lib.search("white", k=1)[0]
    assert Path(top.video).name == "yw.mp4"
    # yellow 0-6 s then white 6-12 s: the 10 s window [0, 10) wins; its best frame is the first
    # white sample (a keyframe within half a period of a grid time may serve that sample)
    assert (top.start, top.end) == (0.0, 10.0) and 6.0 <= top.frame_time < 7.0


def test_library_folder_and_counts(videos: Path) -> None:
    lib = Library.open("lectures")
    _index(lib, [videos / "rgb.mp4"])
    info = lib.info()
    assert Path(info["root"]) == Path(os.environ["VAGENT_HOME"]).resolve() / "lectures"
    assert (info["videos"][0]["duration"], info["segments"], info["frames"]) == (30.0, 3, 30)
    assert info["encoder"] == COLOUR and info["dim"] == 8


def test_video_filter(videos: Path) -> None:
    lib = Library.open("lib")
    _index(lib, [videos])
    hits = lib.search("white", k=10, video="rgb.mp4")
    assert hits and all(Path(h.video).name == "rgb.mp4" for h in hits)
    with pytest.raises(VagentError, match=r"no video matching .nope\.mp4."):
        lib.search("white", video="nope.mp4")


def test_unchanged_skipped_changed_replaced_moved_repointed(videos: Path) -> None:
    lib = Library.open("lib")
    _index(lib, [videos])
    again = _index(lib, [videos])
    assert len(again.skipped) == 2 and not again.indexed

    make_video(videos / "rgb.mp4", ["blue", "blue"], 5.0)  # same path, new content
    changed = _index(lib, [videos / "rgb.mp4"])
    assert [Path(p).name for p in changed.replaced] == ["rgb.mp4"]
    top = lib.search("red", k=1, video="rgb.mp4")[0]
    assert top.end <= 10.0  # the old 30 s rows are gone
    assert lib.info()["frames"] == 10 + 12

    shutil.move(videos / "yw.mp4", videos / "renamed.mp4")
    assert lib.search("white", k=1)[0].missing  # the index still answers; it says the file moved
    moved = _index(lib, [videos / "renamed.mp4"])
    assert [Path(b).name for _, b in moved.moved] == ["renamed.mp4"]
    hit = lib.search("white", k=1)[0]
    assert Path(hit.video).name == "renamed.mp4" and not hit.missing


def test_remove_drops_rows_and_vectors(videos: Path) -> None:
    lib = Library.open("lib")
    _index(lib, [videos])
    removed = lib.remove(["yw.mp4"])
    assert [Path(p).name for p in removed] == ["yw.mp4"]
    info = lib.info()
    assert info["frames"] == 30 and info["segments"] == 3
    assert all(Path(h.video).name == "rgb.mp4" for h in lib.search("white", k=10))
    reopened = Library.open("lib")
    assert reopened.info()["frames"] == 30


def test_encoder_pinned_per_library(videos: Path) -> None:
    lib = Library.open("lib")
    _index(lib, [videos / "rgb.mp4"])
    with pytest.raises(EncoderMismatch, match=r"built with colour \(8-d.*16-d"):
        lib.search("red", encoder="colour/wide")
    with pytest.raises(EncoderMismatch):
        lib.index([str(videos / "yw.mp4")], encoder="colour/wide", progress=False)
    with pytest.raises(VagentError, match=r"uses --fps 1\.0; asked for 2\.0"):
        _index(lib, [videos / "yw.mp4"], fps=2.0)


def test_unknown_library_and_empty_query(videos: Path) -> None:
    with pytest.raises(LibraryNotFound, match=r"vagent index PATHS --library ghost"):
        Library.open("ghost").search("red")
    assert not (Path(os.environ["VAGENT_HOME"]) / "ghost").exists()
    lib = Library.open("lib")
    _index(lib, [videos / "rgb.mp4"])
    with pytest.raises(ValueError, match="empty"):
        lib.search("  ")


def test_schema_version_mismatch_is_named(videos: Path) -> None:
    lib = Library.open("lib")
    _index(lib, [videos / "rgb.mp4"])
    with lib.catalog.session() as s:
        s.execute(update(Meta).where(Meta.key == "schema_version").values(value="99"))
    with pytest.raises(SchemaMismatch, match=r"schema v99.*newer.*upgrade vagent"):
        Library.open("lib").search("red")


def test_catalog_in_another_database(videos: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    a, b = Library.open("a", db=url), Library.open("b", db=url)
    _index(a, [videos / "rgb.mp4"])
    _index(b, [videos / "yw.mp4"])
    assert Path(a.search("white", k=1)[0].video).name == "rgb.mp4"
    assert Path(b.search("white", k=1)[0].video).name == "yw.mp4"
    assert not (a.root / "catalog.db").exists()


def test_scene_segmenter_cuts_at_colour_changes(videos: Path) -> None:
    lib = Library.open("lib")
    _index(lib, [videos / "rgb.mp4"], segmenter="scene", segment_seconds=60)
    spans = [(h.start, h.end) for h in sorted(lib.search("red", k=10), key=lambda h: h.start)]
    assert spans == [(0.0, 10.0), (10.0, 20.0), (20.0, 30.0)]


@pytest.mark.parametrize("factory", ["IVF4,Flat", "HNSW16"])
def test_other_index_factories(videos: Path, factory: str) -> None:
    lib = Library.open("lib")
    _index(lib, [videos], index=f"faiss/{factory}")
    assert lib.info()["index"]["spec"] == factory
    top = lib.search("green", k=1)[0]
    assert (Path(top.video).name, top.start) == ("rgb.mp4", 10.0)
    lib.remove(["yw.mp4"])
    assert lib.info()["frames"] == 30


def test_spec_is_written_to_and_read_from_the_catalog(videos: Path) -> None:
    """What a new library was asked for (the rest defaults) is what it reads back, and it is
    the same whether asked as a LibrarySpec or as keyword arguments."""
    asked = LibrarySpec(encoder=COLOUR, fps=2, segment_seconds=5, text="none", index="faiss")
    a, b = Library.open("a"), Library.open("b")
    a.index([str(videos / "rgb.mp4")], asked, progress=False)
    b.index(
        [str(videos / "rgb.mp4")],
        encoder=COLOUR, fps=2, segment_seconds=5, text="none", index="faiss", progress=False,
    )  # fmt: skip
    want = replace(asked.with_defaults(), decoder=None)
    assert Library.open("a").spec() == Library.open("b").spec() == want
    assert want.index == "faiss/Flat" and want.text == "" and want.text_encoder is None
    assert Library.open("a").info()["segments"] == 6  # 30 s in 5 s segments


def test_one_refusal_of_a_changed_pinned_setting(videos: Path) -> None:
    """Each pinned setting asked with another value is refused in one line naming the flag,
    the library's value and what to do; the library's own value (in any spelling) is not."""
    lib = Library.open("lib")
    _index(lib, [videos / "rgb.mp4"], segment_seconds=5)
    for asked, line in (
        ({"segment_seconds": 10}, "uses --segment-seconds 5.0; asked for 10.0"),
        ({"segmenter": "scene"}, "uses --segmenter fixed; asked for scene"),
        ({"index": "faiss/HNSW16"}, "uses --index faiss/Flat; asked for faiss/HNSW16"),
        ({"text": "subtitles"}, "uses --text none; asked for subtitles"),
    ):
        with pytest.raises(PinnedSetting, match=re.escape(line)) as err:
            lib.index([str(videos / "yw.mp4")], encoder=COLOUR, progress=False, **asked)
        assert "\n" not in str(err.value) and "Omit it to use the library's setting" in str(
            err.value
        )
    assert [Path(v.path).name for v in lib.videos()] == ["rgb.mp4"]  # nothing landed
    report = lib.index(
        [str(videos / "yw.mp4")], LibrarySpec(index="faiss", text="none"), progress=False
    )
    assert [Path(p).name for p in report.indexed] == ["yw.mp4"]


def test_the_decoder_recorded_per_video_is_read_back(videos: Path) -> None:
    lib = Library.open("lib")
    _index(lib, [videos / "rgb.mp4"], decoder="pyav/sequential")
    _index(lib, [videos / "yw.mp4"])
    by_name = {Path(v.path).name: v for v in lib.videos()}
    assert lib.decoder(by_name["rgb.mp4"]).id == "pyav/sequential"
    assert lib.decoder(by_name["yw.mp4"]).id == lib.decoder().id == "pyav/gop"
    info = {Path(v["path"]).name: v["decoder"] for v in lib.info()["videos"]}
    assert info == {"rgb.mp4": "pyav/sequential", "yw.mp4": "pyav/gop"}
    frames = lib.decoder(by_name["rgb.mp4"]).frames_at(by_name["rgb.mp4"].path, [15.0])
    assert len(frames) == 1


def test_the_agent_decodes_each_videos_frames_with_its_recorded_decoder(videos: Path) -> None:
    from typing import Any, cast

    from vagent.agent.context import AgentContext

    lib = Library.open("lib")
    _index(lib, [videos / "rgb.mp4"], decoder="pyav/sequential")
    _index(lib, [videos / "yw.mp4"])
    by_name = {Path(v.path).name: v.id for v in lib.videos()}
    none = cast(Any, None)
    ctx = AgentContext(library=lib, answerer=none, planner=none, decoder=lib.decoder())
    assert ctx.decoder_for(by_name["rgb.mp4"]).id == "pyav/sequential"
    assert ctx.decoder_for(by_name["yw.mp4"]).id == "pyav/gop"
    assert ctx.decoder_for(10_000) is ctx.decoder  # unknown id: the default one


def test_components_are_built_once_and_shared(videos: Path) -> None:
    """Indexing, search and the agent's builder hold one encoder: the run's, not another."""
    lib = Library.open("lib")
    _index(lib, [videos / "rgb.mp4"])
    enc = lib.encoder()
    assert lib.components().encoder() is enc
    lib.search("red", k=1)
    assert lib.encoder() is enc
    _index(lib, [videos / "yw.mp4"], batch_size=4)  # a per-run setting: same components
    assert lib.encoder() is enc


@pytest.mark.slow
def test_library_modules_import_alone_without_circles() -> None:
    """Each module of the library package imports in a fresh interpreter, and none imports
    (even for type checking only) a module that imports it back."""
    pkg = Path(vagent.library.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in pkg.glob("*.py"):
        name = f"vagent.library.{path.stem}" if path.stem != "__init__" else "vagent.library"
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                deps.add(node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d.startswith("vagent.library.")}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for d in graph.get(start, ()):
            if d == goal or (d not in seen and reaches(d, goal, seen | {d})):
                return True
        return False

    circles = [m for m in graph if reaches(m, m, set())]
    assert not circles
    procs = [subprocess.Popen([sys.executable, "-c", f"import {m}"]) for m in sorted(graph)]
    assert [p.wait(timeout=120) for p in procs] == [0] * len(procs)


def test_a_spec_checks_its_values_when_made() -> None:
    """A bad number or text source fails where the spec is made (one line naming the option),
    before any library is opened; spellings are normalised so they compare equal."""
    with pytest.raises(BadNumber, match=r"--fps"):
        LibrarySpec(fps=0)
    with pytest.raises(BadNumber, match=r"--segment-seconds"):
        LibrarySpec(segment_seconds=0.1)
    with pytest.raises(BadNumber, match=r"--batch-size"):
        LibrarySpec(batch_size=0)
    with pytest.raises(VagentError, match=r"unknown text source\(s\) slides"):
        LibrarySpec(text="slides,ocr")
    assert LibrarySpec(text="ocr, subtitles", index="faiss") == LibrarySpec(
        text="subtitles,ocr", index="faiss/Flat"
    )
    new = LibrarySpec(text="none").with_defaults()
    assert (new.text, new.text_encoder, new.ocr, new.asr) == ("", None, None, None)
    assert new.encoder == VISUAL_ENCODER.default and new.decoder == DECODER.default
