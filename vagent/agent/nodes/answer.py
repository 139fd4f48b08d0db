"""answer: call the answerer plugin. verify: check the draft, and send it back if it is weak.

The answerer sees the question as resolved against the thread (``state["resolved"]``). With no
evidence at all it is not called (there is nothing to read), unless ``guess`` asks for an answer
anyway; nor when a refined search chose the same moments as the last round (the last draft is
kept, marked ``reused``).

Verify first asks whether the draft stands on the evidence (``grounding.assess``). For multiple
choice it then re-asks with the options rotated by one (every option moves) and maps the reply
back: the two option distributions are averaged and multiplied by how well each option's
distinctive words are held by the evidence (``grounding.option_scores``), so the words that
decide the answer pick the option; confidence is the chosen option's share, halved when the two
asks disagree and the evidence did not decide. For open questions the answerer's own confidence
is used. A draft that is not grounded, or below ``threshold``, while refinements are left,
sends the graph back to retrieve with refined sub-queries, built from the question and the
evidence's words (never from the draft). With no evidence at all there is one more round at
most, with the question's content words alone.
"""

from __future__ import annotations

import concurrent.futures as cf
from typing import Any

import numpy as np

from vagent.agent import grounding
from vagent.agent.context import AgentContext
from vagent.agent.state import DraftState, QAState, Trace
from vagent.choices import letter
from vagent.errors import AnswererFailed
from vagent.types import Draft, Evidence, Question
from vagent.words import tokens

REFINE_WORDS = 6


def build_question(state: QAState, ctx: AgentContext, options: list[str] | None = None) -> Question:
    evidence = []
    for e in state.get("evidence") or []:
        ev = Evidence.from_dict(e)
        if ctx.answerer.wants_frames and not e["missing"]:
            imgs = [ctx.frames[(e["video_id"], t)] for t in e["frame_times"]]
            imgs = [i for i in imgs if i is not None]
            ev.frames = np.stack(imgs) if imgs and _same_shape(imgs) else None
        ev.kv = ctx.kv.get(e["segment_id"]) if e.get("kv") else None
        evidence.append(ev)
    history = [{"question": t["question"], "answer": t["answer"]} for t in state.get("turns") or []]
    opts = state.get("options") if options is None else options
    return Question(state.get("resolved") or state["question"], opts, evidence, history)


def _same_shape(imgs: list[np.ndarray]) -> bool:
    return len({i.shape for i in imgs}) == 1


def call_answerer(ctx: AgentContext, question: Question) -> Draft:
    """One answerer call, timed as model time, bounded by ``timeout_s``; failures -> one line."""
    name = ctx.answerer.id
    pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="vagent-answerer")
    try:
        with ctx.model_call():
            fut = pool.submit(ctx.answerer.answer, [question])
            drafts = fut.result(timeout=ctx.config.timeout_s)
    except cf.TimeoutError:
        smaller = " or pick a smaller answerer (--answerer hf-text)"
        raise AnswererFailed(
            f"answerer '{name}' gave no answer within {ctx.config.timeout_s:g} s; raise the "
            f"limit (--timeout){'' if name.split('/')[0] == 'hf-text' else smaller}"
        ) from None
    except Exception as exc:
        raise AnswererFailed(
            f"answerer '{name}' failed: {type(exc).__name__}: {exc}; try another with "
            f"--answerer (see `vagent plugins`)"
        ) from None
    finally:
        pool.shutdown(wait=False)
    if len(drafts) != 1 or not isinstance(drafts[0], Draft):
        raise AnswererFailed(f"answerer '{name}' broke its contract: one Draft per question")
    d = drafts[0]
    n = len(question.options or [])
    if question.options is not None and (d.choice is None or not 0 <= d.choice < n):
        raise AnswererFailed(
            f"answerer '{name}' chose no valid option (got {d.choice!r}) for a "
            f"{len(question.options)}-option question"
        )
    return d


def draft_dict(d: Draft) -> DraftState:
    return {
        "text": d.text,
        "choice": d.choice,
        "confidence": d.confidence,
        "option_scores": d.option_scores,
        "used": list(d.used),
        "meta": dict(d.meta),
    }


def answer(state: QAState, ctx: AgentContext) -> tuple[QAState, Trace]:
    if not state.get("evidence") and not state.get("guess"):
        # nothing to read: the answerer could only invent; verify and finish abstain
        empty: DraftState = {
            "text": "",
            "choice": None,
            "confidence": None,
            "option_scores": None,
            "used": [],
            "meta": {"skipped": "no evidence"},
        }
        return {"draft": empty}, {"answerer": ctx.answerer.id, "skipped": "no evidence"}
    shown = shown_key(state)
    prev = state.get("draft") or {}
    if prev.get("shown") == shown and "skipped" not in (prev.get("meta") or {}):
        # a refined search that chose the same moments: the answerer would say the same again
        again: DraftState = {**prev, "meta": {**(prev.get("meta") or {}), "reused": True}}
        return {"draft": again}, {"answerer": ctx.answerer.id, "reused": "same evidence"}
    q = build_question(state, ctx)
    d = call_answerer(ctx, q)
    info: Trace = {"answerer": ctx.answerer.id, "confidence": d.confidence, "choice": d.choice}
    if "kv_segments" in d.meta:  # answerers that read stored KV caches say how many they used
        info.update({"source": d.meta.get("source"), "kv_segments": d.meta["kv_segments"]})
    return {"draft": {**draft_dict(d), "shown": shown}}, info


def shown_key(state: QAState) -> list[list[Any]]:
    """What the answerer is shown, as plain data: each moment's segment and frame times."""
    return [
        [e["segment_id"], list(e.get("frame_times") or []), bool(e.get("missing"))]
        for e in state.get("evidence") or []
    ]


def verify(state: QAState, ctx: AgentContext) -> tuple[QAState, Trace]:
    draft = state["draft"].copy()
    options = state.get("options")
    evidence = state.get("evidence") or []
    info: Trace = {}
    called = "skipped" not in (draft.get("meta") or {})
    g = _assess(state, ctx, draft)
    if options and called and not g.grounded:
        # the answerer's pick may be off while the evidence holds another option's words
        lexical = grounding.option_scores(state["question"], options, evidence)
        if lexical is not None:
            best: DraftState = {**draft, "choice": int(np.argmax(lexical))}
            g = _assess(state, ctx, best)
    reused = bool((draft.get("meta") or {}).get("reused"))
    if options and called and not reused and (g.grounded or state.get("guess")):
        _check_options(state, ctx, draft, info, options)
        g = _assess(state, ctx, draft)  # the chosen option may have changed
    draft.update({"grounded": g.grounded, "grounding": g.to_dict()})
    conf = draft.get("confidence")
    accepted = g.grounded and (conf is None or conf >= ctx.config.threshold)
    rnd = state.get("round", 1)
    if evidence:
        rounds_left = rnd <= ctx.config.refinements
    else:  # nothing found at all: one more search with the question's words, no more
        rounds_left = rnd == 1 and ctx.config.refinements > 0
    update: QAState = {"draft": draft, "done": True}
    info.update({"confidence": conf, "grounded": g.grounded, "accepted": accepted})
    if g.reason:
        info["not_grounded"] = g.reason
    if not accepted and rounds_left:
        queries = refine(state, draft)
        if queries:
            searched = [*(state.get("searched") or []), *(state.get("queries") or [])]
            update.update({"done": False, "queries": queries, "searched": searched})
            info["refined"] = queries
    return update, info


def _assess(state: QAState, ctx: AgentContext, draft: DraftState) -> grounding.Grounding:
    options = state.get("options")
    choice = draft.get("choice")
    said = options[choice] if options and choice is not None else draft.get("text") or ""
    return grounding.assess(
        state["question"],
        said,
        state.get("evidence") or [],
        frames=ctx.answerer.wants_frames,
        meta=draft.get("meta") or {},
        earlier=[] if options else state.get("turns") or [],
        free=not options,
    )


def _check_options(
    state: QAState, ctx: AgentContext, draft: DraftState, info: Trace, options: list[str]
) -> None:
    """Re-ask with the ``options`` rotated; weigh both asks by the evidence's words; update
    ``draft`` in place (choice, confidence, option_scores, consistent, text)."""
    n = len(options)
    rotated = options[1:] + options[:1]  # option i of the re-ask is original (i + 1) % n
    d2 = call_answerer(ctx, build_question(state, ctx, rotated))
    first = _scores(draft, n)
    second = np.zeros(n)
    s2 = _scores(draft_dict(d2), n)
    for i in range(n):
        second[(i + 1) % n] = s2[i]
    assert d2.choice is not None
    consistent = (d2.choice + 1) % n == draft["choice"]
    mean = (first + second) / 2
    lexical = grounding.option_scores(state["question"], options, state.get("evidence") or [])
    if lexical is not None:
        joint = np.asarray(grounding.combine(list(mean), lexical))
        info["option_evidence"] = lexical
    else:
        joint = mean
    choice = int(joint.argmax())
    decided = lexical is not None and lexical[choice] > 0 and lexical[choice] == max(lexical)
    draft.update(
        {
            "choice": choice,
            "confidence": float(joint[choice]) * (1.0 if consistent or decided else 0.5),
            "option_scores": [round(float(x), 6) for x in joint],
            "model_scores": [round(float(x), 6) for x in mean],
            "consistent": consistent,
            "text": f"{letter(choice)}) {options[choice]}",
        }
    )
    info.update({"consistent": consistent, "reask_choice": (d2.choice + 1) % n})


def _scores(draft: DraftState, n: int) -> np.ndarray:
    s = draft.get("option_scores")
    if s and len(s) == n:
        a = np.asarray(s, float)
        return a / a.sum() if a.sum() > 0 else np.full(n, 1.0 / n)
    out = np.zeros(n)
    out[draft["choice"]] = 1.0
    return out


def refine(state: QAState, draft: DraftState) -> list[str]:
    """Sub-queries for another round, built from the question and the evidence, never from the
    draft (an unsupported draft's words would only search for the invention). Multiple choice:
    the question with each option. Open questions: the question with the words of the evidence
    spans that share its words, or, with no such span, the question's content words alone.
    Queries already searched are not repeated; an empty list means there is nothing new."""
    del draft  # kept in the signature: refinement must not depend on it
    q = state["question"]
    options = state.get("options")
    if options:
        new = [f"{q} {o}" for o in options]
    else:
        qw = set(tokens(q))
        near = [
            w
            for _i, _j, s in grounding.spans(state.get("evidence") or [])
            if qw & set(tokens(str(s["text"])))
            for w in tokens(str(s["text"]))
            if w not in qw
        ]
        words = list(dict.fromkeys(near))[:REFINE_WORDS]
        new = [f"{q} {' '.join(words)}"] if words else []
        new.append(" ".join(tokens(q)))
    seen = {" ".join(x.casefold().split()) for x in state.get("queries") or []}
    seen |= {" ".join(str(x).casefold().split()) for x in state.get("searched") or []}
    fresh = [x for x in dict.fromkeys(new) if x.strip()]
    return [x for x in fresh if " ".join(x.casefold().split()) not in seen]
