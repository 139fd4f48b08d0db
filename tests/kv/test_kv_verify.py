"""Damaged KV cache files are found, counted out of `vagent kv info`, and dropped by repair.

A real library (PyAV, FAISS, SQLite) whose segments get caches written by the real
``safetensors`` store and recorded in the catalog as `vagent kv build` does (random tensors:
no language model is needed to check files against their rows).
"""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from sqlalchemy import select, update

from vagent import Library, plugins
from vagent.catalog.schema import KvRow, SegmentRow
from vagent.cli import cli
from vagent.kv import Fingerprint, KvEntry
from vagent.kv.maintain import kv_info, library_rows
from vagent.kv.verify import check_kv, repair_kv

FP = Fingerprint(
    model="m", revision="r", config="c", dtype="float32", template="t", prefill="stream/full"
)


@pytest.fixture
def lib(videos: Path, tmp_path: Path, colour_plugin: None) -> Library:
    lib = Library.open(tmp_path / "lib")
    assert lib.index([videos], encoder="colour", text="none", progress=False).ok
    with lib.catalog.session() as s:
        segs = list(s.scalars(select(SegmentRow.id).order_by(SegmentRow.id)))
    store = plugins.registry().create("kv_store", "safetensors", root=lib.root)
    entries = [KvEntry(f"s{sid}", torch.randn(2, 2, 2, 4 + i, 8), 10 * i, FP.key)
               for i, sid in enumerate(segs)]  # fmt: skip
    records = store.put(entries, FP)
    lib.catalog.save_kv_rows([
        KvRow(segment_id=sid, fingerprint=r.fingerprint, model_id=r.model, dtype=r.dtype,
              layers=r.layers, tokens=r.tokens, pos_start=r.start, pos_end=r.end, bytes=r.bytes,
              sha256=r.sha256, file=r.file)
        for sid, r in zip(segs, records)
    ])  # fmt: skip
    assert len(segs) >= 3
    return lib


def _later(path: Path) -> None:
    """Date a file's last write a minute on, as a write well after the build would."""
    t = time.time() + 60
    os.utime(path, (t, t))


def _info(lib: Library) -> tuple[dict, str]:
    runner = CliRunner()
    text = runner.invoke(cli, ["kv", "info", "--library", str(lib.root)])
    js = runner.invoke(cli, ["kv", "info", "--library", str(lib.root), "--json"])
    assert text.exit_code == js.exit_code == 0, text.output + js.output
    return json.loads(js.stdout), text.stdout


def test_damaged_caches_are_named_not_counted_and_repaired(lib: Library) -> None:
    rows = library_rows(lib.catalog, lib.settings().id)
    n = len(rows)
    info, text = _info(lib)
    assert info["segments_cached"] == info["segments"] == n and info["damaged"] == []
    assert check_kv(lib) == [] and repair_kv(lib) == []
    kv = lib.root / "kv"
    assert stat.S_IMODE(kv.stat().st_mode) == 0o700
    assert {stat.S_IMODE((kv / r.file).stat().st_mode) for r in rows} == {0o600}
    flipped, truncated, header = (kv / r.file for r in rows[:3])
    data = bytearray(flipped.read_bytes())
    data[-5] ^= 0x01  # one bit of the tensor: same size, header intact
    flipped.write_bytes(bytes(data))
    truncated.write_bytes(truncated.read_bytes()[:-64])
    data = bytearray(header.read_bytes())
    data[8:9] = b"["  # the JSON header no longer parses
    header.write_bytes(bytes(data))
    for f in (flipped, truncated, header):
        _later(f)
    info, text = _info(lib)
    assert info["segments_cached"] == n - 3, text
    assert f"{n - 3} of {n} segments cached" in text
    assert {d["file"] for d in info["damaged"]} == {flipped.name, truncated.name, header.name}
    found = check_kv(lib)
    assert len(found) == 3 and all("vagent repair --library" in line for line in found)
    assert any(flipped.name in line and "sha256" in line for line in found)
    assert any(truncated.name in line and "bytes" in line for line in found)
    assert any(header.name in line and "unreadable" in line for line in found)
    done = repair_kv(lib)
    assert len(done) == 3 and all("vagent kv build" in line for line in done)
    assert not flipped.exists() and not truncated.exists() and not header.exists()
    left = library_rows(lib.catalog, lib.settings().id)
    assert len(left) == n - 3 and check_kv(lib) == []
    after = kv_info(lib)
    assert after["segments_cached"] == n - 3 and after["damaged"] == []
    assert after["orphans"]["files"] == 0


def test_a_missing_file_or_a_swapped_one_is_damage(lib: Library) -> None:
    rows = library_rows(lib.catalog, lib.settings().id)
    kv = lib.root / "kv"
    (kv / rows[0].file).unlink()
    (kv / rows[2].file).write_bytes((kv / rows[1].file).read_bytes())  # another segment's cache
    found = check_kv(lib)
    assert len(found) == 2 and "missing" in found[0] + found[1]
    assert len(repair_kv(lib)) == 2
    assert len(library_rows(lib.catalog, lib.settings().id)) == len(rows) - 2


def test_a_row_naming_a_file_outside_the_kv_folder_never_deletes_it(
    lib: Library, tmp_path: Path
) -> None:
    victim = tmp_path / "precious.safetensors"
    victim.write_bytes(b"keep me")
    rows = library_rows(lib.catalog, lib.settings().id)
    with lib.catalog.session() as s:  # as a library handed over by someone else could say
        s.execute(
            update(KvRow).where(KvRow.id == rows[0].id).values(file="../../precious.safetensors")
        )
    found = check_kv(lib)
    assert len(found) == 1 and "not one the KV store writes" in found[0]
    assert len(repair_kv(lib)) == 1 and victim.read_bytes() == b"keep me"
    assert len(library_rows(lib.catalog, lib.settings().id)) == len(rows) - 1


def test_a_bit_rotted_without_a_write_is_found_by_a_full_check(lib: Library) -> None:
    rows = library_rows(lib.catalog, lib.settings().id)
    f = lib.root / "kv" / rows[1].file
    st = f.stat()
    data = bytearray(f.read_bytes())
    data[-9] ^= 0x04
    f.write_bytes(bytes(data))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # as the disk, not a program, changed it
    assert kv_info(lib)["damaged"] == []  # the quick look trusts an unwritten file
    verified = kv_info(lib, verify=True)
    assert [d["file"] for d in verified["damaged"]] == [f.name]
    assert verified["segments_cached"] == len(rows) - 1
    (line,) = check_kv(lib)
    assert f.name in line and f"vagent repair --library {lib.root}" in line
