"""gather: fetch what the answerer looks at. Every moment's source file is checked; a file that
has moved or gone is named in ``missing_sources`` and its moment goes on with what the index
holds (times and text). Answerers that want frames get them decoded from the source files at
the chosen times (kept in the context, not the state)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from vagent.agent.context import AgentContext
from vagent.errors import VagentError


def gather(state: dict[str, Any], ctx: AgentContext) -> tuple[dict[str, Any], dict[str, Any]]:
    evidence = [dict(e) for e in state.get("evidence") or []]
    missing: dict[str, str] = {}
    by_video: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for e in evidence:
        if not Path(e["video"]).is_file():
            missing[e["video"]] = "the file is gone (moved or deleted); re-index its new location"
            e["missing"] = True
        else:
            e["missing"] = False
            by_video[(e["video_id"], e["video"])].append(e)
    decoded = 0
    if ctx.answerer.wants_frames:
        for (vid, path), moments in by_video.items():
            want = sorted({t for e in moments for t in e["frame_times"]})
            want = [t for t in want if (vid, t) not in ctx.frames]
            if not want:
                continue
            try:
                batch = ctx.decoder.frames_at(path, want)
            except (VagentError, OSError, ValueError) as exc:
                missing[path] = f"could not be decoded ({exc})"
                for e in moments:
                    e["missing"] = True
                continue
            for t, img in zip(want, batch.images):
                ctx.frames[(vid, t)] = img
            decoded += len(want)
    info = {
        "frames_decoded": decoded,
        "source": "frames" if ctx.answerer.wants_frames else "text",
        "missing": [f"{p}: {why}" for p, why in missing.items()],
    }
    prior = list(state.get("missing_sources") or [])
    sources = prior + [p for p in missing if p not in prior]
    return {"evidence": evidence, "missing_sources": sources}, info
