"""answer: call the answerer plugin. verify: check the draft, and send it back if it is weak.

Verify, for multiple choice, re-asks with the options rotated by one (every option moves) and
maps the reply back: the two option distributions are averaged, the choice is their argmax, and
its confidence is the averaged probability, halved when the two asks disagree. For open
questions the answerer's own confidence is used. Below ``threshold``, and while refinements are
left, the sub-queries are refined (the question joined with each option, or with the draft's
words) and the graph loops back to retrieve.
"""

from __future__ import annotations

import concurrent.futures as cf
from typing import Any

import numpy as np

from vagent.agent.context import AgentContext
from vagent.agent.nodes.gather import as_evidence
from vagent.agent.options import letter
from vagent.errors import AnswererFailed
from vagent.text.lexical import tokens
from vagent.types import Draft, Question


def build_question(
    state: dict[str, Any], ctx: AgentContext, options: list[str] | None = None
) -> Question:
    evidence = []
    for e in state.get("evidence") or []:
        ev = as_evidence(e)
        if ctx.answerer.wants_frames and not e["missing"]:
            imgs = [ctx.frames[(e["video_id"], t)] for t in e["frame_times"]]
            imgs = [i for i in imgs if i is not None]
            ev.frames = np.stack(imgs) if imgs and _same_shape(imgs) else None
        ev.kv = ctx.kv.get(e["segment_id"]) if e.get("kv") else None
        evidence.append(ev)
    history = [{"question": t["question"], "answer": t["answer"]} for t in state.get("turns") or []]
    opts = state.get("options") if options is None else options
    return Question(state["question"], opts, evidence, history)


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
        raise AnswererFailed(
            f"answerer '{name}' gave no answer within {ctx.config.timeout_s:g} s; raise the "
            f"limit (--timeout) or pick a smaller answerer (--answerer hf-text)"
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


def draft_dict(d: Draft) -> dict[str, Any]:
    return {
        "text": d.text,
        "choice": d.choice,
        "confidence": d.confidence,
        "option_scores": d.option_scores,
        "used": list(d.used),
        "meta": dict(d.meta),
    }


def answer(state: dict[str, Any], ctx: AgentContext) -> tuple[dict[str, Any], dict[str, Any]]:
    q = build_question(state, ctx)
    d = call_answerer(ctx, q)
    info = {"answerer": ctx.answerer.id, "confidence": d.confidence, "choice": d.choice}
    if "kv_segments" in d.meta:  # answerers that read stored KV caches say how many they used
        info.update(source=d.meta.get("source"), kv_segments=d.meta["kv_segments"])
    return {"draft": draft_dict(d)}, info


def verify(state: dict[str, Any], ctx: AgentContext) -> tuple[dict[str, Any], dict[str, Any]]:
    draft = dict(state["draft"])
    options = state.get("options")
    info: dict[str, Any] = {}
    if options:
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
        choice = int(mean.argmax())
        draft.update(
            choice=choice,
            confidence=float(mean[choice]) * (1.0 if consistent else 0.5),
            option_scores=[round(float(x), 6) for x in mean],
            consistent=consistent,
            text=f"{letter(choice)}) {options[choice]}",
        )
        info.update(consistent=consistent, reask_choice=(d2.choice + 1) % n)
    conf = draft.get("confidence")
    accepted = conf is None or conf >= ctx.config.threshold
    rounds_left = state.get("round", 1) <= ctx.config.refinements
    done = accepted or not rounds_left
    update: dict[str, Any] = {"draft": draft, "done": done}
    info.update(confidence=conf, accepted=accepted)
    if not done:
        update["queries"] = refine(state, draft)
        info["refined"] = update["queries"]
    return update, info


def _scores(draft: dict[str, Any], n: int) -> np.ndarray:
    s = draft.get("option_scores")
    if s and len(s) == n:
        a = np.asarray(s, float)
        return a / a.sum() if a.sum() > 0 else np.full(n, 1.0 / n)
    out = np.zeros(n)
    out[draft["choice"]] = 1.0
    return out


def refine(state: dict[str, Any], draft: dict[str, Any]) -> list[str]:
    """Sub-queries for another round: the question with each option, or with the draft's words;
    queries already searched are not repeated."""
    q = state["question"]
    options = state.get("options")
    if options:
        new = [f"{q} {o}" for o in options]
    else:
        words = [w for w in tokens(draft.get("text") or "") if w not in set(tokens(q))]
        new = [f"{q} {' '.join(words[:8])}"] if words else [" ".join(tokens(q))]
    seen = {" ".join(x.casefold().split()) for x in state.get("queries") or []}
    fresh = [x for x in new if " ".join(x.casefold().split()) not in seen]
    return fresh or list(state.get("queries") or [q])
