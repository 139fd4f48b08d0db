"""``Agent``: ask a library questions, from a script or a notebook; threads keep conversations.

    agent = Agent.open("lectures")
    result = agent.ask("What does the speaker write after the coffee break?", thread_id="t1")
    result.answer, result.citations, result.trace

The graph comes from the ``vagent.workflows`` entry points (``qa`` by default, built by
``workflows/qa.py``), so the core imports neither LangGraph nor any plugin.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

from vagent import plugins
from vagent.agent.choose import default_answerer, default_planner
from vagent.agent.config import AgentConfig
from vagent.agent.context import AgentContext
from vagent.agent.state import AskTrace, Cited, Picked, QAState, Trace, Turn
from vagent.agent.threadstore import THREADS_DB, ThreadKeeper
from vagent.choices import letter, parse
from vagent.components import ANSWERER, PLANNER, Answerer
from vagent.errors import EncoderMismatch, UnknownComponent, VagentError
from vagent.library import Library


class Citation(NamedTuple):
    """A moment an answer rests on: the video's path, start and end seconds, and why.
    ``quote``: the words there that decide the answer (a window around them). ``near_miss``:
    the answer does not rest on it; it is one of the closest moments to a question the agent
    could not answer (``AskResult.abstained``) or only guessed. ``name``, ``video_id``,
    ``segment_id``, ``missing``: the video's file name, the catalog's ids of the video and the
    segment, whether its source file is gone. The same fields as the thread keeps
    (``vagent.agent.state.Cited``): ``_asdict()`` is what ``--json`` and the API show."""

    video: str
    start: float
    end: float
    why: str
    quote: str = ""
    near_miss: bool = False
    name: str = ""
    video_id: int | None = None
    segment_id: int | None = None
    missing: bool = False

    @classmethod
    def of(cls, c: Cited) -> Citation:
        """The citation the state holds, for the caller. A turn of an older thread may lack
        ``quote`` and ``near_miss``."""
        return cls(
            video=c["video"],
            start=c["start"],
            end=c["end"],
            why=c["why"],
            quote=c.get("quote", ""),
            near_miss=bool(c.get("near_miss")),
            name=c.get("name") or os.path.basename(c["video"]),
            video_id=c.get("video_id"),
            segment_id=c.get("segment_id"),
            missing=bool(c.get("missing")),
        )


@dataclass
class AskResult:
    """An answer. ``choice``: the option letter for multiple choice (else None). ``trace``:
    the plan, every node's timing and findings, the answerer and why it was picked.
    ``missing_sources``: cited videos whose files are gone (answered from the index).
    ``grounded``: the answer stands on the evidence's words (or frames). ``abstained``: it did
    not, so no answer (and no option letter) was given; the citations are near misses.
    ``guessed``: it did not, but ``guess=True`` asked for an answer, labelled a guess."""

    answer: str
    citations: list[Citation]
    trace: AskTrace
    thread_id: str
    choice: str | None = None
    confidence: float | None = None
    missing_sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """One line each for the user: e.g. the threads file is unusable, the answer not kept."""
    grounded: bool = True
    abstained: bool = False
    guessed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "choice": self.choice,
            "confidence": self.confidence,
            "grounded": self.grounded,
            "abstained": self.abstained,
            "guessed": self.guessed,
            "citations": [
                {**c._asdict(), "name": c.name or os.path.basename(c.video)} for c in self.citations
            ],
            "missing_sources": self.missing_sources,
            "notes": self.notes,
            "thread_id": self.thread_id,
            "trace": self.trace,
        }


def _as_list(options: Sequence[str]) -> Any:
    """A sequence as a list for ``choices.parse``; a lone string stays one (and is refused)."""
    return options if isinstance(options, str) else list(options)


def _planned(nodes: list[Trace]) -> list[str]:
    """The planner's sub-queries, from the plan node's trace entry."""
    for n in nodes:
        if n.get("node") == "plan":
            return [q for q in n.get("queries") or [] if isinstance(q, str)]
    return []


def load_workflow(name: str) -> Any:
    """The graph builder ``name`` from the ``vagent.workflows`` entry points."""
    found = [ep for ep in metadata.entry_points(group="vagent.workflows") if ep.name == name]
    if not found:
        have = sorted(ep.name for ep in metadata.entry_points(group="vagent.workflows"))
        raise UnknownComponent(
            f"no workflow '{name}' (installed: {', '.join(have) or 'none'}); reinstall vagent"
        )
    return found[0].load()


class Agent:
    """A question-answering agent over one library (see the module docstring)."""

    def __init__(
        self,
        library: Library,
        answerer: Answerer,
        planner_id: str,
        config: AgentConfig,
        choice: Picked,
        checkpoint: bool | str,
        workflow: str,
    ) -> None:
        reg = plugins.registry()
        self.library = library
        self.ctx = AgentContext(
            library=library,
            answerer=answerer,
            planner=reg.create(PLANNER, planner_id, answerer=answerer),
            decoder=library.decoder(),  # the default one; gather uses each video's own
            config=config,
            choice=choice,
        )
        path = Path(checkpoint) if isinstance(checkpoint, str) else library.root / THREADS_DB
        self.threads = ThreadKeeper(path if checkpoint else None, library.root)
        self._build = load_workflow(workflow)
        self.graph = self._build(self.ctx, checkpointer=self.threads.saver)

    @classmethod
    def open(
        cls,
        library: str | os.PathLike[str] | Library,
        *,
        answerer: str | None = None,
        planner: str | None = None,
        device: str | None = None,
        config: AgentConfig | None = None,
        db: str | None = None,
        checkpoint: bool | str = True,
        workflow: str = "qa",
    ) -> Agent:
        """An agent over ``library`` (a name, a folder, or a ``Library``).

        ``answerer``/``planner``: component ids (default: ``hf-vlm`` with a GPU and weights,
        else ``hf-text``; the ``rules`` planner, or ``llm``, which adds queries the answerer's
        model writes). ``checkpoint``: keep threads in the library's ``threads.sqlite`` (True), in
        another SQLite file (a path), or not at all (False).
        """
        lib = library if isinstance(library, Library) else Library.open(library, db=db)
        row = lib.settings()  # raises LibraryNotFound with what to do
        reg = plugins.registry()
        if answerer is None:
            answerer, why = default_answerer(reg)
        else:
            why = "asked for"
        lib.load_models()
        ans = reg.create(ANSWERER, answerer, device=device, encoder=lib.encoder())
        if ans.embedding_space is not None and ans.embedding_space != row.embedding_space:
            raise EncoderMismatch(
                f"answerer '{ans.id}' scores in embedding space {ans.embedding_space}, but "
                f"library '{lib.name}' was built with {row.encoder} ({row.embedding_space}); "
                f"use the library's own encoder or another answerer"
            )
        choice: Picked = {"answerer": ans.id, "answerer_reason": why}
        planner = planner or default_planner(reg)
        choice["planner"] = planner
        return cls(lib, ans, planner, config or AgentConfig(), choice, checkpoint, workflow)

    def ask(
        self,
        question: str,
        options: Sequence[str] | None = None,
        *,
        thread_id: str | None = None,
        videos: Sequence[str] | None = None,
        guess: bool = False,
    ) -> AskResult:
        """Answer ``question`` (with ``options`` for multiple choice: "A) red" or just "red").

        Questions with the same ``thread_id`` share a conversation: follow-ups see earlier
        turns. ``videos`` restricts the search to those files (paths or names). Where the
        evidence does not support an answer the agent abstains (``abstained``, no option
        letter); ``guess=True`` forces one, labelled a guess (benchmarks). Raises
        VagentError subclasses with one-line messages.
        """
        if not question or not question.strip():
            raise VagentError("the question is empty: ask something about the videos")
        opts = None if options is None else parse(_as_list(options), strict=True)
        tid = thread_id or uuid.uuid4().hex
        run_config = {"configurable": {"thread_id": tid}, "recursion_limit": 64}
        t0 = time.perf_counter()
        try:
            inputs: QAState = {
                "question": question.strip(),
                "options": opts,
                "videos": list(videos) if videos else None,
                "guess": bool(guess),
            }
            out, notes = self.threads.invoke(
                self.graph, lambda: self._build(self.ctx), inputs, run_config, thread_id
            )
        finally:
            self.ctx.frames.clear()
            self.ctx.kv.clear()
        total_ms = (time.perf_counter() - t0) * 1000.0
        nodes = out.get("trace") or []
        model_ms = sum(n.get("model_ms", 0.0) for n in nodes)
        draft = out.get("draft") or {}
        trace: AskTrace = {
            **self.ctx.choice,
            "semantic": draft.get("meta", {}).get("semantic", self.ctx.answerer.semantic),
            "queries": _planned(nodes),
            "rounds": out.get("round", 0),
            "nodes": nodes,
            "evidence": out.get("evidence") or [],
            "draft": draft,
            "total_ms": round(total_ms, 3),
            "model_ms": round(model_ms, 3),
            "overhead_ms": round(total_ms - model_ms, 3),
            "config": self.ctx.config.to_dict(),
        }
        citations = [Citation.of(c) for c in out["citations"]]
        abstained = bool(out.get("abstained"))
        choice = None if abstained else draft.get("choice")
        return AskResult(
            answer=out["answer"],
            citations=citations,
            trace=trace,
            thread_id=tid,
            choice=letter(choice) if opts and choice is not None else None,
            confidence=draft.get("confidence"),
            missing_sources=list(out.get("missing_sources") or []),
            notes=notes,
            grounded=bool(draft.get("grounded")),
            abstained=abstained,
            guessed=bool(out.get("guessed")),
        )

    def history(self, thread_id: str) -> list[Turn]:
        """The turns of a thread so far (question, options, answer, citations), oldest first."""
        self.threads.check_usable(thread_id)
        snap = self.graph.get_state({"configurable": {"thread_id": thread_id}})
        return list((snap.values or {}).get("turns") or [])

    def close(self) -> None:
        self.threads.close()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
