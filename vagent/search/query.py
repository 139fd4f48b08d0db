"""One search of a library, from the words asked to the hits: the query checked, the mode
chosen, the query encoded, the channels run inside one catalog snapshot (``read``), the hits
built. ``Library.search`` is ``search`` over what its ``Reader`` lends: the catalog, the query
encoders, the vectors and text state of a generation, and the matching of video names."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from vagent.catalog import Catalog, LibraryRow
from vagent.components import TextEncoder, VisualEncoder
from vagent.errors import EncoderMismatch, VagentError
from vagent.search.batch import encode_query
from vagent.search.hits import to_hits
from vagent.search.hybrid import DEFAULT_WEIGHTS, MODES, hybrid_ranking
from vagent.search.read import read_consistent
from vagent.search.text import TextState
from vagent.search.visual import search_vectors
from vagent.threads import single_threaded
from vagent.types import Hit
from vagent.validate import K, check_weights, clean_text
from vagent.vectors import VectorSet


@dataclass(frozen=True)
class Reader:
    """What a search reads of one library (``Library`` lends its own, cached ones).

    ``settings``: the library's row (LibraryNotFound when there is none, saying how to make
    one; a search reads the row in its snapshot and calls this only when it is not there);
    ``catalog``: its catalog (LibraryNotFound when there is none); ``hint``: how to repair
    damaged vector files; ``visual_encoder(row, id)``: the query encoder (``id`` None: the
    library's own), checked against ``row``; ``text_encoder(row)``: the text-track encoder,
    checked; ``vectors(row)``: the vectors of ``row``'s generation; ``text_state(row,
    vectors)``: the text spans of that generation; ``match_videos(names)``: video ids for
    names (VagentError naming one that matches none); ``warn_random(row, hybrid)``: says
    (once) that the library's visual encoder is random."""

    name: str
    hint: str
    settings: Callable[[], LibraryRow]
    catalog: Callable[[], Catalog]
    visual_encoder: Callable[[LibraryRow, str | None], VisualEncoder]
    text_encoder: Callable[[LibraryRow], TextEncoder]
    vectors: Callable[[LibraryRow], VectorSet]
    text_state: Callable[[LibraryRow, VectorSet], TextState]
    match_videos: Callable[[list[str]], list[int]]
    warn_random: Callable[[LibraryRow, bool], None]


def choose_mode(row: LibraryRow, library: str, mode: str | None) -> str:
    """``mode``, or the default: hybrid when the library has a text track, else visual."""
    mode = mode or ("hybrid" if row.text_encoder else "visual")
    if mode not in MODES:
        raise ValueError(f"unknown search mode '{mode}'; use one of {', '.join(MODES)}")
    if mode != "visual" and not row.text_encoder:
        raise VagentError(
            f"library '{library}' has no text track (it was indexed with --text none); "
            f"search it with --mode visual"
        )
    return mode


def search(
    reader: Reader,
    query: str,
    k: int = 10,
    *,
    video: str | Sequence[str] | None = None,
    encoder: str | None = None,
    mode: str | None = None,
    weights: dict[str, float] | None = None,
) -> list[Hit]:
    """The ``k`` moments best matching ``query``, best first (``Library.search`` says how)."""
    if not query or not query.strip():
        raise ValueError("the query is empty: say what to look for")
    k = K.check_int(k)
    check_weights(weights, tuple(DEFAULT_WEIGHTS))
    query = clean_text(query)
    names = None if video is None else [video] if isinstance(video, str) else list(video)
    catalog = reader.catalog()

    def read(row: LibraryRow) -> list[Hit]:
        # the library's row is read once, in the snapshot the whole search reads
        chosen = choose_mode(row, reader.name, mode)
        # a random-weight visual channel is left out of text/hybrid search: don't load CLIP
        needs_visual = chosen == "visual" or row.semantic or encoder is not None
        enc = reader.visual_encoder(row, encoder) if needs_visual else None
        return search_snapshot(reader, row, enc, query, k, names, chosen, weights, catalog)

    return read_consistent(catalog, reader.name, reader.hint, read, absent=reader.settings)


def search_snapshot(
    reader: Reader,
    row: LibraryRow,
    enc: VisualEncoder | None,
    query: str,
    k: int,
    names: list[str] | None,
    mode: str,
    weights: dict[str, float] | None,
    catalog: Catalog | None = None,
) -> list[Hit]:
    """One search inside one catalog snapshot (``row``: the library as of it; ``catalog``:
    ``reader.catalog()`` when the caller has it already)."""
    catalog = reader.catalog() if catalog is None else catalog
    vectors = reader.vectors(row)
    allowed, videos = None, None
    if names is not None:
        ids = reader.match_videos(names)
        seg_ids, frame_ids = catalog.ids_for_videos(ids)
        allowed = (np.array(seg_ids, np.int64), np.array(frame_ids, np.int64))
        videos = set(ids)
    qv = None
    if enc is not None:
        with single_threaded():
            qv = enc.encode_texts([query])
        if qv.shape[1] != row.dim:
            raise EncoderMismatch(f"{enc.id} gave {qv.shape[1]}-d vectors; library is {row.dim}-d")
    if mode == "visual":
        assert qv is not None
        hits = search_vectors(catalog, vectors, qv[0], k, allowed)
    else:
        w = {**DEFAULT_WEIGHTS, **(weights or {})}
        if not row.semantic:
            w["visual"] = 0.0
        with single_threaded():  # with the queries of concurrent searches, where exact
            tq = encode_query(reader.text_encoder(row), query)
        ranked = hybrid_ranking(
            catalog,
            vectors,
            reader.text_state(row, vectors),
            query,
            None if qv is None else qv[0],
            tq,
            k,
            mode,
            w,
            allowed,
            videos,
            row.semantic,
        )
        hits = to_hits(catalog, ranked)
    if not row.semantic:
        reader.warn_random(row, mode == "hybrid")
        for h in hits:
            h.extra["semantic"] = False
    return hits
