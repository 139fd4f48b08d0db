"""Integrity of a library: ids kept through removals on every index type, vector files owned by
one library and catalog, searches that read one generation, damaged files detected and named,
and ``vagent check`` / ``vagent repair``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from tests.conftest import COLOUR
from vagent import Library, search
from vagent.catalog import FrameRow, LibraryRow
from vagent.integrity.owner import MARKER, FolderOwned
from vagent.vectors import VectorFilesDamaged

pytestmark = pytest.mark.usefixtures("colour_plugin")


def _index(lib: Library, paths: list[Path], **kw: object) -> object:
    kw.setdefault("text", "none")
    return lib.index([str(p) for p in paths], encoder=COLOUR, progress=False, **kw)


def _vector_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if ".faiss" in p.name)


def _current(lib: Library, kind: str) -> Path:
    row = lib.settings()
    record = json.loads(row.vector_files or "{}")
    return lib.root / record["files"][kind]["name"]


@pytest.mark.parametrize("factory", ["faiss/IVF4,Flat", "faiss/HNSW16"])
def test_removing_a_video_keeps_the_other_videos_ids(videos: Path, factory: str) -> None:
    """Issue 9.4: after a remove on an IVF library the vectors came back under other ids."""
    lib = Library.open("ivf")
    _index(lib, [videos / "rgb.mp4"], fps=4, index=factory)
    _index(lib, [videos / "yw.mp4"])  # 120 + 48 frames: the frame index trains on IVF4
    lib.remove([str(videos / "rgb.mp4")])  # the lower ids go
    again = Library.open("ivf")
    top = again.search("yellow", k=1)[0]
    assert Path(top.video).name == "yw.mp4" and top.start == 0.0 and top.frame_time < 6.0
    top = again.search("white", k=1, mode="visual")[0]
    assert Path(top.video).name == "yw.mp4" and top.frame_time >= 6.0
    # every frame row's stored vector is still its own frame's colour
    vectors = again._reader_vectors(again.settings())
    with again.catalog.session() as s:
        frames = list(s.scalars(select(FrameRow)))
    got = vectors.frames.reconstruct(np.array([f.id for f in frames], np.int64))
    words = again.encoder().encode_texts(["yellow", "white"])
    for f, v in zip(frames, got):
        assert int(np.argmax(words @ v)) == (0 if f.time < 6.0 else 1), (f.id, f.time)


def test_vector_files_name_their_library(videos: Path) -> None:
    lib = Library.open("owned")
    _index(lib, [videos / "yw.mp4"])
    row = lib.settings()
    assert row.uid and len(row.uid) == 32
    marker = json.loads((lib.root / MARKER).read_text())
    assert marker["uid"] == row.uid and marker["library"] == "owned"
    tag = row.uid[:12]
    assert _vector_files(lib.root) == [f"{k}-{tag}-1.faiss" for k in ("frames", "segments")]
    record = json.loads(row.vector_files or "{}")
    assert record["generation"] == 1
    assert all(len(f["sha256"]) == 64 and f["bytes"] > 0 for f in record["files"].values())


def test_another_catalog_on_the_same_folder_is_refused(videos: Path, tmp_path: Path) -> None:
    """Issue 9.5: indexing the same folder through another --db deleted the library's vectors."""
    lib = Library.open("shared")
    _index(lib, [videos / "yw.mp4"])
    before = {p.name: p.read_bytes() for p in lib.root.iterdir() if ".faiss" in p.name}
    other = Library.open(lib.root, db=f"sqlite:///{tmp_path / 'other.db'}")
    with pytest.raises(FolderOwned, match="holds library 'shared' of catalog sqlite:///") as err:
        _index(other, [videos / "rgb.mp4"])
    assert "\n" not in str(err.value) and "--db" in str(err.value)
    after = {p.name: p.read_bytes() for p in lib.root.iterdir() if ".faiss" in p.name}
    assert after == before
    assert Library.open("shared").search("yellow", k=1)[0].video.endswith("yw.mp4")


def test_a_renamed_folder_is_refused_until_renamed_back(videos: Path, tmp_path: Path) -> None:
    lib = Library.open(tmp_path / "libs" / "first")
    _index(lib, [videos / "yw.mp4"])
    lib.close()
    moved = tmp_path / "libs" / "second"
    (tmp_path / "libs" / "first").rename(moved)
    before = _vector_files(moved)
    with pytest.raises(FolderOwned, match=r"holds library 'first'.*rename it back"):
        _index(Library.open(moved), [videos / "rgb.mp4"])
    assert _vector_files(moved) == before
    moved.rename(tmp_path / "libs" / "first")
    back = Library.open(tmp_path / "libs" / "first")
    assert back.search("yellow", k=1)
    _index(back, [videos / "rgb.mp4"])
    assert len(back.videos()) == 2


def test_a_library_never_deletes_files_it_did_not_write(videos: Path) -> None:
    lib = Library.open("tidy")
    _index(lib, [videos / "yw.mp4"])
    foreign = [
        lib.root / "segments-0123456789ab-1.faiss",  # another library's tag
        lib.root / "frames-0123456789ab-7.faiss.tmp",
        lib.root / "frames-3.faiss",  # a legacy name this library did not adopt
    ]
    for p in foreign:
        p.write_bytes(b"not mine")
    _index(lib, [videos / "rgb.mp4"])
    lib.remove([str(videos / "yw.mp4")])
    assert all(p.exists() for p in foreign)
    tag = (lib.settings().uid or "")[:12]
    mine = [n for n in _vector_files(lib.root) if tag in n]
    assert sorted(mine) == sorted(
        f"{k}-{tag}-{g}.faiss" for k in ("frames", "segments") for g in (2, 3)
    )


def test_a_library_from_before_tags_is_read_and_adopted(videos: Path) -> None:
    """A library written before files were tagged: legacy names, no uid, no record."""
    lib = Library.open("legacy")
    _index(lib, [videos / "yw.mp4"])
    _index(lib, [videos / "rgb.mp4"])
    row = lib.settings()
    record = json.loads(row.vector_files or "{}")
    for gen_entry in (record, record["previous"]):
        for kind, f in gen_entry["files"].items():
            os.replace(lib.root / f["name"], lib.root / f"{kind}-{gen_entry['generation']}.faiss")
    (lib.root / MARKER).unlink()
    with lib.catalog.session() as s:
        r = s.get(LibraryRow, row.id)
        assert r is not None
        r.uid, r.vector_files = None, None
    lib.close()
    old = Library.open("legacy")
    assert Path(old.search("red", k=1)[0].video).name == "rgb.mp4"
    old.remove([str(videos / "yw.mp4")])  # generation 3: tagged; 1 and 2 were adopted
    old.remove([str(videos / "rgb.mp4")])  # generation 4: legacy 2 goes as G-2
    tag = (old.settings().uid or "")[:12]
    assert _vector_files(old.root) == sorted(
        f"{k}-{tag}-{g}.faiss" for k in ("frames", "segments") for g in (3, 4)
    )


def test_a_damaged_vector_file_is_one_line_naming_it_and_repair(
    videos: Path, tmp_path: Path
) -> None:
    lib = Library.open("dmg")
    _index(lib, [videos / "yw.mp4"])
    _index(lib, [videos / "rgb.mp4"])
    seg = _current(lib, "segments")
    pristine = seg.read_bytes()
    data = bytearray(pristine)
    data[-20] ^= 0xFF  # one flipped byte in the vectors
    seg.write_bytes(bytes(data))
    with pytest.raises(VectorFilesDamaged, match="checksum mismatch") as err:
        Library.open("dmg").search("red", k=1)
    assert str(seg) in str(err.value) and "vagent repair --library dmg" in str(err.value)
    # an older generation copied over the current one
    old = (
        lib.root
        / json.loads(lib.settings().vector_files or "{}")["previous"]["files"]["segments"]["name"]
    )
    shutil.copyfile(old, seg)
    with pytest.raises(VectorFilesDamaged, match="checksum mismatch"):
        Library.open("dmg").search("red", k=1)
    # truncated: the same line, from the CLI, with no traceback, for index too
    seg.write_bytes(data[:100])
    for args in (["search", "red"], ["index", str(videos / "yw.mp4")], ["info"]):
        proc = _vagent(*args, "--library", "dmg", home=tmp_path / "home")
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert str(seg) in proc.stderr and "vagent repair --library dmg" in proc.stderr
    # a deleted current file is damage too, not "try again"
    seg.write_bytes(pristine)
    frames = _current(lib, "frames")
    frames.unlink()
    with pytest.raises(VectorFilesDamaged, match=r"frames-.*: vector file missing.*vagent repair"):
        Library.open("dmg").search("red", k=1, mode="visual")


def _vagent(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VAGENT_HOME": str(home), "VAGENT_PLUGINS_BLOCK": ""}
    code = (
        "import sys; from tests.plugins import colour; from vagent import plugins; "
        "plugins.add_plugin('testcolour', colour); from vagent.cli import main; main(sys.argv[1:])"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent.parent,
    )


def test_a_search_reads_one_generation_while_a_writer_removes(
    videos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9.6: a search that read the catalog in several transactions met rows that a
    writer had removed in between (KeyError in to_hits)."""
    lib = Library.open("snap")
    _index(lib, [videos / "rgb.mp4", videos / "yw.mp4"])
    reader = Library.open("snap")
    real = search.best_frames
    writes = []

    def remove_midway(*args: object, **kw: object) -> object:
        if not writes:  # another process's writer commits two generations mid-search
            writes.append(Library.open("snap").remove([str(videos / "rgb.mp4")]))
            writes.append(_index(Library.open("snap"), [videos / "rgb.mp4"]))
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(search, "best_frames", remove_midway)
    hits = reader.search("red", k=5)
    assert Path(hits[0].video).name == "rgb.mp4" and hits[0].start == 0.0
    monkeypatch.setattr(search, "best_frames", real)
    after = reader.search("red", k=5)  # the next search sees the new generation
    assert Path(after[0].video).name == "rgb.mp4"
    assert after[0].segment_id != hits[0].segment_id
