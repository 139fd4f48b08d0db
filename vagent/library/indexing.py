"""Setting up an index run over a library, and undoing a first run that landed nothing.

``Library.index`` takes the lock and calls these: :func:`open_run` opens or creates the library
row from the run's :class:`LibrarySpec` (one refusal of a changed pinned setting, in
``LibrarySpec.over``) and builds the run's components with the library's
:class:`~vagent.library.build.Builder`; :func:`forget_if_empty` drops what a failed first run
made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select

from vagent.catalog import Catalog, LibraryRow
from vagent.ingest.run import IndexRun
from vagent.integrity.owner import MARKER, check_owner, read_marker, repair_hint
from vagent.library.build import Builder, check_encoder, check_text_encoder, recogniser_id
from vagent.library.notices import warn_random
from vagent.library.spec import LibrarySpec
from vagent.paths import CATALOG_FILE, LibraryLocation
from vagent.vectors import parse_record, sweep, tag_of


def new_builder(asked: LibrarySpec) -> Builder:
    """The components of a new library asked for as ``asked``, built and loaded now, so that
    weights that cannot be loaded or a bad index or segmenter fail before anything is written."""
    built = Builder(asked.with_defaults())
    built.check(load_asr=asked.asr is not None)  # the default recogniser loads on first use
    return built


@dataclass
class OpenedRun:
    run: IndexRun
    builder: Builder  # the library's components (kept by the Library for search after)
    made_row: bool  # this call created the library row


def open_run(
    cat: Catalog,
    location: LibraryLocation,
    asked: LibrarySpec,
    fresh: Builder | None,
    held: Builder | None,
    progress: bool,
) -> OpenedRun:
    """Open or create the library row and set up the run (the caller holds the lock).
    ``fresh``: a new library's components built before the lock; ``held``: the builder whose
    components to reuse."""
    name = location.name
    row = cat.library(name)
    check_owner(location.root, cat, name, row)
    made_row = row is None
    if row is None:
        built = fresh or new_builder(asked)
        row = built.spec.to_row(name, built.encoder(), built.text_encoder())
        with cat.session() as s:
            s.add(row)
    else:
        if asked.asr:  # the recogniser's id as it names itself (faster-whisper -> .../tiny.en)
            asked = replace(asked, asr=recogniser_id(asked.asr))
        built = Builder(asked.over(LibrarySpec.of_row(row), name), reuse=held)
    enc = built.encoder()
    check_encoder(row, enc)
    enc.load()
    if row.text_encoder:
        tenc = built.text_encoder()
        assert tenc is not None
        check_text_encoder(row, tenc)
    if not row.semantic:
        warn_random(row)
    vectors = built.vectors(location.root, row, repair_hint(location))
    vectors.load(row.generation, row.vector_files)
    sweep(location.root, parse_record(row.vector_files), tag_of(row.uid))
    run = IndexRun(cat, row.id, vectors, built.parts(), built.options(progress))
    return OpenedRun(run, built, made_row)


def forget_if_empty(
    location: LibraryLocation,
    cat: Catalog | None,
    made: list[Path],
    new_catalog: bool,
    made_row: bool,
    close: Callable[[], None],
) -> None:
    """Drop a library this run created when nothing landed in it: its row, the catalog file
    when the run made it, and the folders the run made. Touches nothing it did not make
    (another process may be creating the same library). ``close`` closes the catalog."""
    root = location.root
    if not made_row:
        for folder in made:  # only folders this run made and nobody filled
            try:
                folder.rmdir()
            except OSError:
                break
        return
    uid = None
    if cat is not None:
        try:
            with cat.session() as s:
                q = select(LibraryRow).where(LibraryRow.name == location.name)
                row = s.scalars(q).first()
                if row is not None and row.generation > 0:
                    return
                if row is not None:
                    uid = row.uid
                    s.delete(row)
        except Exception:
            return  # cannot tell (or cannot write): keep what is there
    marker = read_marker(root)
    if uid and marker and marker.get("uid") == uid:
        (root / MARKER).unlink(missing_ok=True)
    close()
    if new_catalog:
        for suffix in ("", "-wal", "-shm", "-journal"):
            (root / f"{CATALOG_FILE}{suffix}").unlink(missing_ok=True)
    if not made:
        return
    (root / ".write.lock").unlink(missing_ok=True)
    for folder in made:  # deepest first; a folder someone else filled meanwhile stays
        try:
            folder.rmdir()
        except OSError:
            return
