"""Index and search through the Python API, with the colour encoder so rankings are checkable."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.conftest import COLOUR
from vagent import Library
from vagent.catalog.schema import Meta
from vagent.errors import EncoderMismatch, LibraryNotFound, SchemaMismatch, VagentError
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
