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

from tests.conftest import COLOUR, REPO
from vagent import Library
from vagent.catalog import FrameRow, LibraryRow
from vagent.errors import LibraryNotFound
from vagent.ingest import commit
from vagent.integrity.owner import MARKER, FolderOwned
from vagent.search import visual
from vagent.vector_deltas import names
from vagent.vectors import VectorFilesDamaged

pytestmark = pytest.mark.usefixtures("colour_plugin")


def _index(lib: Library, paths: list[Path], **kw: object) -> object:
    kw.setdefault("text", "none")
    return lib.index([str(p) for p in paths], encoder=COLOUR, progress=False, **kw)


def _vector_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if ".faiss" in p.name)


def _current(lib: Library, kind: str) -> Path:
    """The newest file of the current generation: its last delta, or its base (a generation
    that only added vectors names the base before it plus deltas, ``vagent.vector_deltas``)."""
    row = lib.settings()
    record = json.loads(row.vector_files or "{}")
    return lib.root / names(record["files"][kind])[-1]


def _base(lib: Library, kind: str) -> Path:
    """The base file the current generation names (its deltas, if any, come after it)."""
    row = lib.settings()
    return lib.root / json.loads(row.vector_files or "{}")["files"][kind]["name"]


@pytest.fixture
def whole_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every commit rewrites every vector file (the layout before index commits appended
    deltas; legacy libraries had no deltas)."""
    monkeypatch.setattr(commit, "APPEND_DELTAS", False)


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
    with pytest.raises(FolderOwned):  # before any model is loaded (the default needs a network)
        other.index([str(videos / "rgb.mp4")], progress=False)
    with pytest.raises(LibraryNotFound, match="open it with that --db"):
        other.search("yellow")
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
    with pytest.raises(LibraryNotFound, match=r"holds library 'first'.*rename it back"):
        Library.open(moved).search("yellow")  # not "index videos first" (that lost data)
    moved.rename(tmp_path / "libs" / "first")
    back = Library.open(tmp_path / "libs" / "first")
    assert back.search("yellow", k=1)
    _index(back, [videos / "rgb.mp4"])
    assert len(back.videos()) == 2


@pytest.mark.usefixtures("whole_files")
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


@pytest.mark.usefixtures("whole_files")
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


@pytest.mark.slow  # runs vagent in subprocesses
@pytest.mark.usefixtures("warnings_shown")
def test_a_damaged_vector_file_is_one_line_naming_it_and_repair(
    videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = Library.open("dmg")
    _index(lib, [videos / "yw.mp4"])
    _index(lib, [videos / "rgb.mp4"])  # generation 2; generation 1 holds yw.mp4 only
    seg = _current(lib, "segments")
    pristine = seg.read_bytes()
    data = bytearray(pristine)
    data[-20] ^= 0xFF  # one flipped byte in the vectors
    seg.write_bytes(bytes(data))
    capsys.readouterr()
    # readers: one warning line, and answers from generation 1 (intact), rows as of now
    hits = Library.open("dmg").search("red", k=3)
    assert hits and {Path(h.video).name for h in hits} == {"yw.mp4"}
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"warning: {seg}: vector file damaged")
    assert "checksum mismatch" in err and "vagent repair --library dmg" in err
    # writers refuse, in one line
    with pytest.raises(VectorFilesDamaged, match="checksum mismatch") as exc:
        _index(Library.open("dmg"), [videos / "yw.mp4"])
    assert str(seg) in str(exc.value) and "vagent repair --library dmg" in str(exc.value)
    # an older generation copied over the current one is caught the same way
    record = json.loads(lib.settings().vector_files or "{}")
    old = lib.root / record["previous"]["files"]["segments"]["name"]
    shutil.copyfile(old, seg)
    with pytest.raises(VectorFilesDamaged, match="checksum mismatch"):
        Library.open("dmg").remove(["yw.mp4"])
    # truncated: from the CLI, no traceback: readers warn and answer, index refuses
    seg.write_bytes(data[:100])
    for args, code in ((["search", "red"], 0), (["info"], 0), (["index", str(videos)], 2)):
        proc = _vagent(*args, "--library", "dmg", home=tmp_path / "home")
        assert proc.returncode == code, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert str(seg) in proc.stderr and "vagent repair --library dmg" in proc.stderr
    # a deleted current file is damage too, not "try again"
    seg.write_bytes(pristine)
    frames = _current(lib, "frames")
    frames.unlink()
    for args in (["index", str(videos / "yw.mp4")], ["remove", "yw.mp4"]):  # writers
        proc = _vagent(*args, "--library", "dmg", home=tmp_path / "home")
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
        assert f"{frames}: vector file missing" in proc.stderr, proc.stderr
    # with generation 1 gone too, readers have nothing to fall back on: one error line
    (lib.root / record["previous"]["files"]["frames"]["name"]).unlink()
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
        cwd=REPO,
    )


def test_a_search_reads_one_generation_while_a_writer_removes(
    videos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9.6: a search that read the catalog in several transactions met rows that a
    writer had removed in between (KeyError in to_hits)."""
    lib = Library.open("snap")
    _index(lib, [videos / "rgb.mp4", videos / "yw.mp4"])
    reader = Library.open("snap")
    real = visual.best_frames
    writes = []

    def remove_midway(*args: object, **kw: object) -> object:
        if not writes:  # another process's writer commits two generations mid-search
            writes.append(Library.open("snap").remove([str(videos / "rgb.mp4")]))
            writes.append(_index(Library.open("snap"), [videos / "rgb.mp4"]))
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(visual, "best_frames", remove_midway)
    hits = reader.search("red", k=5)
    assert Path(hits[0].video).name == "rgb.mp4" and hits[0].start == 0.0
    monkeypatch.setattr(visual, "best_frames", real)
    after = reader.search("red", k=5)  # the next search sees the new generation
    assert Path(after[0].video).name == "rgb.mp4"
    assert after[0].segment_id != hits[0].segment_id


SRT = "1\n00:00:02,000 --> 00:00:04,000\nthe {word} line\n"


def _text_library(videos: Path, name: str) -> Library:
    for v, word in (("rgb", "crimson"), ("yw", "banana")):
        (videos / f"{v}.srt").write_text(SRT.format(word=word))
    lib = Library.open(name)
    lib.index([str(videos / "yw.mp4")], encoder=COLOUR, text="subtitles", progress=False)
    lib.index([str(videos / "rgb.mp4")], progress=False)
    return lib


def _all_vectors(lib: Library) -> dict[str, dict[int, np.ndarray]]:
    fresh = Library.open(lib.root)
    vs = fresh._reader_vectors(fresh.settings())
    out = {}
    for kind, index in vs.indexes.items():
        ids = index.ids()  # type: ignore[attr-defined]
        out[kind] = dict(zip(ids.tolist(), index.reconstruct(ids)))
    return out


@pytest.mark.slow  # runs vagent in subprocesses
def test_check_finds_and_repair_rebuilds_segments_and_texts(videos: Path, tmp_path: Path) -> None:
    lib = _text_library(videos, "fix")
    before = _all_vectors(lib)
    seg, txt = _base(lib, "segments"), _base(lib, "texts")
    data = bytearray(seg.read_bytes())
    data[-8] ^= 0x01
    seg.write_bytes(bytes(data))
    txt.write_bytes(txt.read_bytes()[:64])
    proc = _vagent("check", "--library", "fix", "--json", home=tmp_path / "home")
    assert proc.returncode == 1, proc.stderr
    found = json.loads(proc.stdout)
    assert not found["ok"] and {"catalog", "vectors"} <= set(found["checked"])
    assert any(str(seg) in p and "checksum" in p for p in found["problems"])
    assert any(str(txt) in p for p in found["problems"])
    from vagent.integrity.check import check_library
    from vagent.integrity.repair import repair_library

    done = " ".join(repair_library(Library.open("fix")).actions)
    assert "2 recomputed from their frames" in done or "recomputed from their frames" in done
    assert "encoded again from the span texts" in done
    again = Library.open("fix")

    assert check_library(again).ok
    after = _all_vectors(again)
    assert after["frames"].keys() == before["frames"].keys()
    for kind in ("segments", "texts", "frames"):
        assert after[kind].keys() == before[kind].keys()
        for i, v in before[kind].items():
            np.testing.assert_allclose(after[kind][i], v, atol=1e-5)
    assert Path(again.search("banana", k=1, mode="text")[0].video).name == "yw.mp4"


def test_repair_reencodes_videos_whose_frames_are_lost(videos: Path) -> None:
    lib = _text_library(videos, "lost")
    _current(lib, "frames").unlink()  # generation 2's frames: rgb.mp4's vectors are lost
    from vagent.integrity.repair import repair_library

    report = repair_library(Library.open("lost"))
    assert any("frame vectors" in a and "previous generation" in a for a in report.actions)
    assert any(a == f"re-encoded {videos / 'rgb.mp4'} from its source file" for a in report.actions)
    again = Library.open("lost")
    assert sorted(Path(v.path).name for v in again.videos()) == ["rgb.mp4", "yw.mp4"]
    top = again.search("red", k=1, mode="visual")[0]
    assert Path(top.video).name == "rgb.mp4" and top.start == 0.0
    from vagent.integrity.check import check_library

    assert check_library(again).ok
    # lost again, and this time the source is gone: dropped, and said so
    _current(again, "frames").unlink()
    _current(again, "segments").unlink()
    (videos / "rgb.mp4").unlink()
    report = repair_library(Library.open("lost"))
    assert f"dropped {videos / 'rgb.mp4'}: its frame vectors were lost" in " ".join(report.actions)
    assert [Path(v.path).name for v in Library.open("lost").videos()] == ["yw.mp4"]
    assert check_library(Library.open("lost")).ok


@pytest.mark.slow  # runs vagent in subprocesses
def test_a_damaged_catalog_is_one_line_and_check_says_so(videos: Path, tmp_path: Path) -> None:
    lib = Library.open("cat")
    _index(lib, [videos / "yw.mp4"])
    lib.close()
    import sqlite3

    conn = sqlite3.connect(lib.root / "catalog.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    db = lib.root / "catalog.db"
    data = bytearray(db.read_bytes())
    for i in range(4096, len(data), 89):  # garble every page after the first
        data[i] ^= 0x5A
    db.write_bytes(bytes(data))
    for args in (["search", "yellow"], ["index", str(videos / "yw.mp4")], ["repair"]):
        proc = _vagent(*args, "--library", "cat", home=tmp_path / "home")
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert f"catalog {db}" in proc.stderr and "damaged" in proc.stderr
    proc = _vagent("check", "--library", "cat", home=tmp_path / "home")
    assert proc.returncode in (1, 2) and "damaged" in proc.stdout + proc.stderr


@pytest.mark.slow  # runs vagent in subprocesses
def test_check_and_repair_cover_threads(videos: Path, tmp_path: Path) -> None:
    lib = Library.open("thr")
    _index(lib, [videos / "yw.mp4"])
    (lib.root / "threads.sqlite").write_bytes(b"this is not a database" * 100)
    from vagent.integrity.check import check_library

    found = check_library(lib)
    assert "threads" in found.checked and any("threads" in p for p in found.problems)
    proc = _vagent("repair", "--library", "thr", "--json", home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    done = json.loads(proc.stdout)
    assert done["actions"] and not (lib.root / "threads.sqlite").exists()
    assert any(p.name.startswith("threads.sqlite.") for p in lib.root.iterdir())
    assert check_library(Library.open("thr")).ok


def test_damage_without_a_checksum_is_not_carried_into_the_next_generation(
    videos: Path,
) -> None:
    """A library from before checksums whose frame file lost vectors (rows=N, vecs=N-5):
    the next write refuses instead of carrying the damage on; repair makes it whole."""
    lib = Library.open("carry")
    _index(lib, [videos / "yw.mp4"])
    row = lib.settings()
    frames = _current(lib, "frames")
    vs = lib._make_vectors(row)
    vs.load(row.generation, row.vector_files)
    ids = vs.frames.ids()  # type: ignore[attr-defined]
    vs.frames.remove(ids[:5])
    vs.frames.save(str(frames))
    with lib.catalog.session() as s:
        r = s.get(LibraryRow, row.id)
        assert r is not None
        r.vector_files = None  # as if written before checksums: names fall back to legacy
    os.replace(frames, lib.root / f"frames-{row.generation}.faiss")
    seg = _current_name(row, "segments")
    os.replace(lib.root / seg, lib.root / f"segments-{row.generation}.faiss")
    with pytest.raises(VectorFilesDamaged, match=r"\(42 rows, 37 vectors\); nothing was written"):
        _index(Library.open("carry"), [videos / "rgb.mp4"])
    from vagent.integrity.check import check_library
    from vagent.integrity.repair import repair_library

    assert any("5 rows have no vector" in p for p in check_library(Library.open("carry")).problems)
    repair_library(Library.open("carry"))
    assert check_library(Library.open("carry")).ok
    _index(Library.open("carry"), [videos / "rgb.mp4"])
    assert len(Library.open("carry").videos()) == 2


def _current_name(row: LibraryRow, kind: str) -> str:
    return str(json.loads(row.vector_files or "{}")["files"][kind]["name"])


@pytest.mark.usefixtures("warnings_shown")
def test_hybrid_search_reads_the_previous_generation_when_the_current_is_damaged(
    videos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rows newer than the vectors read: a video added since is still found by its words
    (without frame vectors); one removed since is never a hit."""
    from vagent.integrity.repair import repair_library

    lib = _text_library(videos, "older")  # generation 1: yw.mp4; 2: rgb.mp4 added
    frames = _current(lib, "frames")
    frames.write_bytes(frames.read_bytes()[:-10])
    capsys.readouterr()
    reader = Library.open("older")
    top = reader.search("crimson", k=1)[0]  # rgb.mp4's subtitle; its frames are not in gen 1
    assert Path(top.video).name == "rgb.mp4" and top.texts
    assert Path(reader.search("banana", k=1)[0].video).name == "yw.mp4"
    assert capsys.readouterr().err.count("meanwhile reading generation 1") == 1
    repair_library(Library.open("older"))  # rgb.mp4 re-encoded: whole again
    Library.open("older").remove([str(videos / "yw.mp4")])  # yw.mp4 gone
    frames = _current(Library.open("older"), "frames")
    frames.write_bytes(frames.read_bytes()[:-10])
    reader = Library.open("older")
    before = reader.settings().generation - 1
    for query in ("crimson", "banana", "the line red yellow"):
        hits = reader.search(query, k=5)
        assert hits and all(Path(h.video).name == "rgb.mp4" for h in hits), query
    assert capsys.readouterr().err.count(f"meanwhile reading generation {before}") == 1


def test_a_write_meets_damage_anywhere_in_the_catalog(videos: Path) -> None:
    """Damage in pages a command would not read (here an index of the frames table) stops a
    write before it starts, even when the file given is unchanged (it used to exit 0)."""
    import sqlite3

    lib = Library.open("pages")
    _index(lib, [videos / "yw.mp4"])
    lib.close()
    db = lib.root / "catalog.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (page,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name='ix_frames_segment'")
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    start = (page[0] - 1) * size
    for i in range(start + 8, start + size, 7):
        data[i] ^= 0x33
    db.write_bytes(bytes(data))
    from vagent.catalog.store import CatalogDamaged

    with pytest.raises(CatalogDamaged, match=f"catalog {db} is damaged"):
        _index(Library.open("pages"), [videos / "yw.mp4"])
