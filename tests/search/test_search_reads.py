"""What one search reads of the catalog: the library's row once, in the snapshot the whole
search reads (it was read three times, twice outside that snapshot, with the repair hint
worked out again each search); the same hits, and the same error when there is no such
library."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.conftest import index_cooking_talk, using_plugins
from tests.plugins import colour
from vagent.catalog import Catalog, LibraryRow
from vagent.errors import LibraryNotFound
from vagent.library import Library, core


@pytest.fixture
def talk(tmp_path: Path) -> Iterator[Library]:
    """cooking.mp4 with three subtitle cues, the colour encoder and the default MiniLM."""
    # BLAS on one thread, as the server runs it: two threads on busy cores take seconds
    limits = pytest.importorskip("threadpoolctl").threadpool_limits
    with using_plugins(colour), limits(limits=1, user_api="blas"):
        yield index_cooking_talk(tmp_path)


def test_a_search_reads_the_library_row_once(
    talk: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = Library.open(talk.root)
    want = {m: [h.to_dict() for h in lib.search("salt", k=3, mode=m)] for m in ("visual", "text")}
    reads: list[str] = []
    hints: list[object] = []
    library = Catalog.library
    hint = core.repair_hint

    def counted(self: Catalog, name: str) -> object:
        reads.append(name)
        return library(self, name)

    def counted_hint(location: object) -> str:
        hints.append(location)
        return hint(location)  # type: ignore[arg-type]

    monkeypatch.setattr(Catalog, "library", counted)
    monkeypatch.setattr(core, "repair_hint", counted_hint)
    for mode in ("visual", "text", "hybrid", "text"):
        lib.search("salt", k=3, mode=mode)
    assert reads == [talk.name] * 4  # one read of the row per search
    assert hints == []  # worked out once, on the first search
    # the same hits as before
    assert {m: [h.to_dict() for h in lib.search("salt", k=3, mode=m)] for m in want} == want
    assert want["text"] and want["visual"]
    # no row in the open catalog (renamed): the error the library's settings give, as before
    with lib.catalog.session() as s:
        s.execute(update(LibraryRow).where(LibraryRow.name == talk.name).values(name="other"))
    with pytest.raises(LibraryNotFound) as err:
        lib.search("salt", k=1)
    with pytest.raises(LibraryNotFound) as settings:
        lib.settings()
    assert str(err.value) == str(settings.value)
    with pytest.raises(LibraryNotFound, match="index videos first"):
        Library.open(talk.root.parent / "nothing-here").search("salt")
