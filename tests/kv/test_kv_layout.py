"""The core looks after stored KV caches only through the ``kv_store`` contract: it names no file
layout of the built-in store, a store that implements only the required methods keeps the
contract through the base class's defaults, and `vagent kv info`/`prune`, `check` and `repair`
work over such a store (one held in memory) as over the files of ``safetensors``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from sqlalchemy import select

from tests.conftest import REPO
from tests.plugins.memkv import MemoryStore, OrphanBlindStore
from vagent import Library
from vagent.catalog.schema import KvRow, SegmentRow
from vagent.kv import Fingerprint, KvEntry, maintain, verify
from vagent.testing import run_contract, suite_for

ROOT = REPO
CORE = [*sorted((ROOT / "vagent" / "kv").glob("*.py")), ROOT / "vagent" / "cli" / "kv.py"]
# what only the safetensors store may know: its suffix, format tag, header, folder and reader
LAYOUT = [r"safetensors", r"vagent-kv/", r"__metadata__", r"""/ ?["']kv["']""", r"\bstruct\b",
          r"""f["']kv/"""]  # fmt: skip
FP = Fingerprint(
    model="m", revision="r", config="c", dtype="float32", template="t", prefill="stream/full"
)


def test_the_core_names_no_store_file_layout() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in CORE
        for n, line in enumerate(path.read_text().splitlines(), 1)
        for pattern in LAYOUT
        if re.search(pattern, line)
    ]
    assert found == []
    layout = (ROOT / "plugins" / "vagent_kvstore" / "files.py").read_text()
    assert all(re.search(p, layout) for p in LAYOUT[:3])  # the patterns do name it, there


def test_looking_after_the_store_loads_no_tensor_library(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from vagent.kv.store import store_of\n"
        f"s = store_of({str(tmp_path)!r})\n"
        "print(s.scan([]), s.usage(), s.drop(['x']), 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == "False", out.stdout + out.stderr


def test_a_store_of_only_the_required_methods_keeps_the_contract(tmp_path: Path) -> None:
    report = run_contract("kv_store", MemoryStore)
    assert report.ok, report.lines()
    checks = {o.check for o in report.outcomes if o.status == "passed"}
    assert {"test_scan_finds_intact_damaged_and_orphans", "test_drop_removes_named_items_only"} <= (
        checks
    )
    assert set(suite_for("kv_store").checks()) == checks


def test_the_suite_catches_a_store_that_hides_orphans() -> None:
    report = run_contract("kv_store", OrphanBlindStore)
    failed = {o.check: o.message for o in report.failed}
    assert set(failed) == {"test_scan_finds_intact_damaged_and_orphans"}, report.lines()
    message = failed["test_scan_finds_intact_damaged_and_orphans"]
    assert "kv_store contract" in message and "no orphan" in message


@pytest.fixture
def mem_lib(
    videos: Path, tmp_path: Path, colour_plugin: None, monkeypatch: pytest.MonkeyPatch
) -> Library:
    """A real library whose caches live in a ``MemoryStore``, the store every maintenance path
    of the core opens."""
    lib = Library.open(tmp_path / "lib")
    assert lib.index([videos], encoder="colour", text="none", progress=False).ok
    store = MemoryStore(lib.root)
    for module in (maintain, verify):
        monkeypatch.setattr(module, "store_of", lambda root: MemoryStore(root))
    with lib.catalog.session() as s:
        segs = list(s.scalars(select(SegmentRow.id).order_by(SegmentRow.id)))
    records = store.put(
        [KvEntry(f"s{sid}", torch.randn(2, 2, 2, 4, 8), 0, FP.key) for sid in segs], FP
    )
    lib.catalog.save_kv_rows([
        KvRow(segment_id=sid, fingerprint=r.fingerprint, model_id=r.model, dtype=r.dtype,
              layers=r.layers, tokens=r.tokens, pos_start=r.start, pos_end=r.end, bytes=r.bytes,
              sha256=r.sha256, file=r.file)
        for sid, r in zip(segs, records)
    ])  # fmt: skip
    assert len(segs) >= 3
    return lib


def test_info_check_repair_and_prune_go_through_the_contract(mem_lib: Library) -> None:
    lib, store = mem_lib, MemoryStore(mem_lib.root)
    rows = maintain.library_rows(lib.catalog, lib.settings().id)
    n, size = len(rows), rows[0].bytes
    info = maintain.kv_info(lib)
    assert info["segments_cached"] == n and info["damaged"] == []
    assert info["stored"] == {"items": n, "bytes": n * size}
    assert verify.check_kv(lib) == [] and not (lib.root / "kv").exists()
    # one cache gone, one left by no row (as a removed video leaves it)
    store.delete([store.key_of(rows[0].file)], FP)
    extra = store.put([KvEntry("orphan", torch.randn(2, 2, 2, 4, 8), 0, FP.key)], FP)[0]
    info = maintain.kv_info(lib)
    assert info["segments_cached"] == n - 1
    assert info["damaged"] == [
        {"file": rows[0].file, "segment": rows[0].segment_id, "why": "missing", "where": ""}
    ]
    assert info["orphans"] == {"files": 1, "bytes": extra.bytes}
    (line,) = verify.check_kv(lib)
    assert rows[0].file in line and "missing" in line and "vagent repair --library" in line
    assert len(verify.repair_kv(lib)) == 1 and verify.check_kv(lib) == []
    pruned = maintain.prune(lib, size * 2)
    assert pruned["orphans_dropped"] == 1 and pruned["kept"] == 2
    assert pruned["dropped"] == n - 3 and pruned["kept_bytes"] == 2 * size
    assert store.usage().items == 2 == len(maintain.library_rows(lib.catalog, lib.settings().id))
