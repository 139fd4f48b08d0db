"""The Milvus index plugin (Milvus Lite, a local file) passes the same index contract as FAISS.

Milvus Lite starts a server process and is slow on this CPU, so the data stays tiny."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from vagent import plugins
from vagent.components import INDEX, VectorIndex
from vagent.testing.contracts.index import DIM, contract_cycle


@pytest.mark.slow
def test_milvus_lite_contract(tmp_path: Path) -> None:
    uri = str(tmp_path / "vectors.db")

    def make() -> VectorIndex:
        index: VectorIndex = plugins.registry().create(INDEX, f"milvus/{uri}", dim=DIM)
        return index

    contract_cycle(make, True, tmp_path)


def _unit(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.slow
def test_milvus_manifest_is_the_committed_state(tmp_path: Path) -> None:
    """Vectors a writer added after the last save (it died before committing) are kept out of a
    reader's results without the reader writing anything; a writer's next save deletes them; a
    manifest naming vectors the collection lost is refused."""
    uri = str(tmp_path / "vectors.db")

    def make() -> VectorIndex:
        index: VectorIndex = plugins.registry().create(INDEX, f"milvus/{uri}", dim=DIM)
        return index

    writer = make()
    writer.add(np.arange(10, dtype=np.int64), _unit(10, 1))
    writer.save(str(tmp_path / "g1.idx"))
    writer.add(np.arange(100, 105, dtype=np.int64), _unit(5, 2))  # never committed
    reader = make()
    reader.load(str(tmp_path / "g1.idx"))
    assert reader.ntotal == 10
    _, got = reader.search(_unit(5, 2), 3)  # the uncommitted vectors' own queries
    assert set(got.ravel().tolist()) <= set(range(10))
    assert not (got == -1).any()  # still k results each, from the committed ones
    peek = make()
    peek.load(str(tmp_path / "g1.idx"))  # the reader deleted nothing: they are still there
    assert len(peek._garbage) == 5  # type: ignore[attr-defined]
    reader.add(np.array([100], np.int64), _unit(1, 3))  # a reused id takes its new vector
    reader.save(str(tmp_path / "g2.idx"))
    again = make()
    again.load(str(tmp_path / "g2.idx"))
    assert again.ntotal == 11 and not len(again._garbage)  # type: ignore[attr-defined]
    np.testing.assert_allclose(again.reconstruct(np.array([100])), _unit(1, 3), atol=1e-6)
    reader.remove(np.array([3], np.int64))  # the collection no longer holds id 3
    with pytest.raises(ValueError, match="lacks 1 vectors"):
        make().load(str(tmp_path / "g1.idx"))
    (tmp_path / "junk.idx").write_bytes(b"\x00not a manifest")
    with pytest.raises(ValueError, match=r"junk\.idx"):
        make().load(str(tmp_path / "junk.idx"))
    with pytest.raises(ValueError, match="give a URI"):
        plugins.registry().create(INDEX, "milvus", dim=DIM)


@pytest.mark.slow
def test_index_and_search_a_library_in_milvus_lite(
    colour_plugin: None, videos: Path, tmp_path: Path
) -> None:
    """`vagent index --index milvus --index-uri FILE`: the library's vectors live in Milvus Lite
    and search, info and remove work on them as on FAISS."""
    from click.testing import CliRunner

    from tests.conftest import COLOUR
    from vagent.cli import cli

    uri = str(tmp_path / "milvus.db")
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.stdout

    args = ("--library", "lib", "--encoder", COLOUR, "--index", "milvus")
    run("index", str(videos), *args, "--index-uri", uri, "--json")
    info = json.loads(run("info", "--library", "lib", "--json"))
    assert info["index"]["backend"] == "milvus" and info["index"]["spec"] == uri
    hits = json.loads(run("search", "blue", "--library", "lib", "-k", "2", "--json"))
    assert (Path(hits[0]["video"]).name, hits[0]["start"]) == ("rgb.mp4", 20.0)
    run("remove", "rgb.mp4", "--library", "lib", "--json")
    hits = json.loads(run("search", "blue", "--library", "lib", "--json"))
    assert {Path(h["video"]).name for h in hits} == {"yw.mp4"}
    # --index milvus without a URI: a usage error before anything is written
    bad = runner.invoke(cli, ["index", str(videos), "--library", "other", "--index", "milvus"])
    assert bad.exit_code == 2 and "--index-uri" in bad.output
