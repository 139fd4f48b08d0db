"""The lexical channel's coverage gate: a span is a BM25 hit only when the query terms it holds
carry ``MIN_COVERAGE`` of the query's IDF mass, so one shared common word does not make a hit
(reciprocal rank fusion would lift such spans above the dense channel's answer)."""

from __future__ import annotations

from vagent.search.lexical import MIN_COVERAGE, MIN_GATED_SPANS, Bm25

# Forty spans about meeting rooms (the common words), a few with words of their own.
COMMON = [f"The meeting room on floor {i} is booked for the weekly sync" for i in range(40)]
KITCHEN = "They painted the kitchen pale green last spring"
MARIA = "Maria moved the budget review to the Berlin office"
DOCS = [*COMMON, KITCHEN, MARIA, "The kitchen room has a new oven"]


def hits(bm: Bm25, query: str, **kw: float) -> set[int]:
    return {i for i, _ in bm.search(query, len(bm), **kw)}


def test_a_span_sharing_only_a_common_word_is_not_a_lexical_hit() -> None:
    bm = Bm25(DOCS)
    query = "Which shade was chosen for the cooking room?"  # only "room" is in the library
    assert hits(bm, query) == set()
    # without the gate (the old channel) every span with "room" was a hit
    assert hits(bm, query, min_coverage=0.0) == {*range(40), 42}


def test_a_span_holding_the_rare_word_is_a_hit_and_ranks_first() -> None:
    bm = Bm25(DOCS)
    found = bm.search("kitchen room colour", len(bm))
    assert {i for i, _ in found} == {40, 42}  # the kitchen spans, none of the forty rooms
    assert found[0][0] == 42  # it holds both of the library's query words


def test_a_rare_name_among_common_words_is_still_found() -> None:
    bm = Bm25(DOCS)
    assert hits(bm, "What did Maria say about the meeting room?") == {41}
    assert hits(bm, "Where is Berlin?") == {41}


def test_the_gate_is_a_share_of_the_mass_so_a_one_word_query_still_matches() -> None:
    assert 0.0 < MIN_COVERAGE < 1.0
    bm = Bm25(DOCS)
    assert hits(bm, "room", min_coverage=1.0) == {*range(40), 42}  # one term: all the mass
    assert hits(bm, "ROOM!") == {*range(40), 42}
    query = "meeting floor kitchen"  # the kitchen spans hold the rarest of three terms
    assert {40, 42} <= hits(bm, query)
    assert hits(bm, query, min_coverage=1.0) == set()  # no span holds all three
    assert hits(bm, "meeting floor", min_coverage=1.0) == set(range(40))


def test_a_library_too_small_for_idf_is_not_gated_unless_asked() -> None:
    talk = [
        "Welcome back, today we cover optimisation",
        "Gradient descent: step against the gradient",
        "The learning rate sets the size of each step",
    ]
    assert len(talk) < MIN_GATED_SPANS <= len(DOCS)
    bm = Bm25(talk)
    assert hits(bm, "how big is each step") == {1, 2}  # the slide holds "step" alone
    assert hits(bm, "how big is each step", min_coverage=MIN_COVERAGE) == {2}
