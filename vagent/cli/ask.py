"""``vagent ask`` and ``vagent eval``: answers with citations, and accuracy over a question set."""

from __future__ import annotations

import json as jsonlib
import sys
from typing import Any

import click

from vagent.cli.common import Bounded, emit_json, guarded, json_option, library_options
from vagent.cli.progress import AskProgress, wanted
from vagent.errors import VagentError
from vagent.timefmt import clock
from vagent.validate import LIMIT, TIMEOUT, clean_text


def _agent_options(f: Any) -> Any:
    f = click.option("--planner", help="Planner id: rules (default) or llm.")(f)
    f = click.option(
        "--answerer",
        help="Answerer id: hf-text, hf-vlm/<model>, clip-choice... (default: hf-vlm with a GPU "
        "and its weights, else hf-text with the packaged SmolLM2).",
    )(f)
    return f


@click.command()
@click.argument("words", nargs=-1, required=True)
@click.option(
    "--options",
    "has_options",
    is_flag=True,
    help='Multiple choice: the arguments after the question are its options ("A) red" ...).',
)
@library_options
@_agent_options
@click.option("--thread", help="Conversation id: questions in one thread see earlier turns.")
@click.option("--video", multiple=True, help="Only these videos (path or file name); repeatable.")
@click.option(
    "--timeout",
    type=Bounded(TIMEOUT),
    help="Seconds one answerer call may take, in (0, 86400] (default 300).",
)
@click.option(
    "--guess",
    is_flag=True,
    help="Answer even when the library holds nothing that supports an answer (labelled a "
    "guess); by default the agent says so instead.",
)
@click.option("-v", "--verbose", is_flag=True, help="Also print the plan and each node's timing.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="A line per step on stderr while it runs (default: on a terminal, not with --json).",
)
@json_option
@guarded
def ask(
    words: tuple[str, ...],
    has_options: bool,
    library: str,
    db: str | None,
    answerer: str | None,
    planner: str | None,
    thread: str | None,
    video: tuple[str, ...],
    timeout: float | None,
    guess: bool,
    verbose: bool,
    progress: bool | None,
    as_json: bool,
) -> None:
    """Ask a question about a library; the answer cites where in which video it comes from.

    \b
    vagent ask "What does the speaker write after the break?" --library lectures
    vagent ask "Which colour is the car?" --options "A) red" "B) blue" --library cars
    """
    from vagent.agent import Agent, AgentConfig

    question, options = clean_text(words[0]), [clean_text(w) for w in words[1:]]
    if options and not has_options:
        raise VagentError(
            "more than one argument: quote the question, or pass --options to give choices"
        )
    config = AgentConfig()
    if timeout is not None:
        config.timeout_s = timeout
    steps = AskProgress(wanted(progress, as_json))
    steps.loading(library)
    with Agent.open(library, answerer=answerer, planner=planner, db=db, config=config) as agent:
        steps.loaded()
        agent.ctx.progress = steps
        res = agent.ask(
            question,
            options if has_options else None,
            thread_id=thread,
            videos=video or None,
            guess=guess,
        )
    for note in res.notes:  # e.g. the threads file is unusable: this answer is not kept
        click.echo(f"note: {note}", err=True)
    if as_json:
        emit_json(res.to_dict())
        return
    click.echo(res.answer)
    click.echo(f"  {trust_line(res)}")
    for c in res.citations:
        name = c.video.rsplit("/", 1)[-1]
        miss = "near miss: " if c.near_miss else ""
        click.echo(f"  [{miss}{name} {clock(c.start)}-{clock(c.end)}] {c.why}")
    for m in res.missing_sources:
        click.echo(f"  note: {m} is missing; answered from what the index holds", err=True)
    t = res.trace
    if not t.get("semantic", True):
        click.echo("  note: random-weight answerer: the answer carries no meaning", err=True)
    if verbose:
        click.echo(f"answerer: {t['answerer']} ({t['answerer_reason']}); planner: {t['planner']}")
        click.echo(f"queries: {t['queries']}")
        for n in t["nodes"]:
            click.echo(f"  {n['node']:<8} {n['ms']:9.1f} ms  (model {n['model_ms']:.1f} ms)")
        click.echo(
            f"total {t['total_ms']:.0f} ms; model {t['model_ms']:.0f} ms; agent overhead "
            f"{t['overhead_ms']:.0f} ms; rounds {t['rounds']}"
        )
    click.echo(f"thread: {res.thread_id}", err=True)


def trust_line(res: Any) -> str:
    """``confidence 0.82, grounded in 2 moments`` / ``..., not grounded: abstained``."""
    conf = "confidence n/a" if res.confidence is None else f"confidence {res.confidence:.2f}"
    if res.abstained:
        return f"{conf}, not grounded: abstained (--guess forces an answer)"
    if res.guessed:
        return f"{conf}, not grounded: a guess"
    cited = sum(not c.near_miss for c in res.citations)
    return f"{conf}, grounded in {cited} moment{'s' if cited != 1 else ''}"


class _JudgeOption(click.Option):
    """``--judge`` whose help lists the registered judges, read when help is shown (the
    registry is built then, not at import)."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None:
            return None
        try:
            from vagent import plugins
            from vagent.components import JUDGE

            names = plugins.registry().names(JUDGE)
        except Exception:  # a broken plugin: help still shows, without the list
            return record
        if not names:
            return record
        return record[0], f"{record[1]} Available judges: {', '.join(names)}."


@click.command(name="eval")
@click.argument("questions", type=click.Path(dir_okay=False))
@library_options
@_agent_options
@click.option("--limit", type=Bounded(LIMIT), help="Only the first N questions (N >= 1).")
@click.option(
    "--sample", type=Bounded(LIMIT), help="N questions drawn with --seed (the same every run)."
)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option(
    "--judge",
    cls=_JudgeOption,
    help="Judge plugin scoring open answers (default none: not scored).",
)
@click.option(
    "--subtitles",
    type=click.Choice(["with", "without"]),
    help="The benchmark's subtitle setting (Video-MME reports both); checked against the library.",
)
@click.option("--encoder", help="Visual encoder for a new library (default as `vagent index`).")
@click.option("--text", help="Text track for a new library (default subtitles,ocr).")
@click.option("--out", type=click.Path(dir_okay=False), help="Write per-question results (JSONL).")
@json_option
@guarded
def eval_cmd(
    questions: str,
    library: str,
    db: str | None,
    answerer: str | None,
    planner: str | None,
    limit: int | None,
    sample: int | None,
    seed: int,
    judge: str | None,
    subtitles: str | None,
    encoder: str | None,
    text: str | None,
    out: str | None,
    as_json: bool,
) -> None:
    """Score the agent on a JSONL of {video, question, options?, answer, category?}.

    Videos the library lacks are indexed first. Bad lines are reported with their line number
    and the rest are evaluated. `vagent convert` makes the JSONL from public benchmarks.
    """
    from vagent.agent.evaluate import evaluate

    opts: dict[str, Any] = {k: v for k, v in {"encoder": encoder, "text": text}.items() if v}
    report = evaluate(
        questions,
        library,
        answerer=answerer,
        planner=planner,
        db=db,
        index_options=opts,
        limit=limit,
        progress=not as_json,
        sample=sample,
        seed=seed,
        judge=judge,
        subtitles=subtitles,
    )
    for p in report.problems:
        click.echo(f"problem: {p}", err=True)
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            for r in report.results:
                fh.write(jsonlib.dumps(r) + "\n")
    if as_json:
        emit_json(report.to_dict(with_results=False))
    else:
        acc = "n/a" if report.accuracy is None else f"{report.accuracy:.3f}"
        click.echo(f"accuracy {acc} ({report.correct}/{report.n}), answerer {report.answerer}")
        for title, table in (("category", report.by_category), ("length", report.by_length)):
            for k, v in table.items():
                click.echo(f"  {title:<8} {k:<20} {v['accuracy']:.3f}  ({v['correct']}/{v['n']})")
        from vagent.agent.evaluate import table_lines

        for line in table_lines(report):
            click.echo(line)
        click.echo("latency (ms)      p50       p95")
        for k, v in report.latency_ms.items():
            click.echo(f"  {k:<12} {v['p50']:9.1f} {v['p95']:9.1f}")
    if report.n == 0:
        sys.exit(2)
    if report.problems:
        sys.exit(1)
