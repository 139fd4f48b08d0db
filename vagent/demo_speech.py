"""The speech part of ``make demo``: a stand-up recording made with espeak-ng (where it is
installed), indexed by its speech alone, searched, and asked a question only its words answer.

It writes ``demo-speech/standup.wav`` (git-ignored, made once) and the ``demo-speech`` library.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from vagent import Agent, Library
from vagent.bench.speech import make_talk

FOLDER = Path("demo-speech")
QUESTION = "When does the quarterly budget review happen?"


def main(encoder: str | None) -> int:
    """Run the speech demo; 0 when it ran or was skipped (no espeak-ng), 1 when it failed."""
    if shutil.which("espeak-ng") is None:
        print("demo: speech skipped: espeak-ng is not installed (apt-get install espeak-ng)")
        return 0
    FOLDER.mkdir(exist_ok=True)
    talk = FOLDER / "standup.wav"
    if not talk.exists():
        part = FOLDER / ".standup.partial.wav"
        make_talk(part, 40.0)
        for extra in FOLDER.glob(".standup.partial.*.wav"):
            extra.unlink()
        os.replace(part, talk)
    lib = Library.open("demo-speech")
    report = lib.index([str(talk)], encoder=encoder, text="speech", progress=False)
    print(
        f"demo: speech: {talk} indexed by its words into library demo-speech "
        f"({report.text_spans} spans; failed {len(report.failed)})"
    )
    for h in lib.search("budget review Thursday", k=1, mode="text"):
        for t in h.texts[:1]:
            at = t.get("at", t["start"])
            print(f'demo: speech: search finds {Path(h.video).name} at {at:.1f} s: "{t["text"]}"')
    with Agent.open(lib) as agent:
        res = agent.ask(QUESTION)
    print(f"demo: speech: vagent ask {QUESTION!r} --library demo-speech")
    print(f"  {res.answer}")
    for c in res.citations[:1]:
        print(f"  [{Path(c.video).name} {c.start:.0f}-{c.end:.0f} s] {c.why}")
    return 1 if report.failed else 0
