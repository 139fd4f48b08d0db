"""``vagent bench needle``: hide sentences in long videos and ask for them (V-NIAH style).

For each haystack length, needles sit at several depths, on screen (drawn into frames, found by
OCR), as subtitle cues (a sidecar .srt) and, where espeak-ng is installed, said aloud in the
audio track (found by the speech track). Each needle is asked for twice: with a question that
shares words with it, and with a reworded one that shares none. A needle counts as retrieved at
k when one of the top k hits is the segment of the right video that holds the needle's time.
Indexing speed of the text track is reported in video-seconds per wall-second.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vagent.bench import haystack
from vagent.bench.needles import NEEDLES, SPOKEN, check
from vagent.components import ANSWERER
from vagent.errors import VagentError
from vagent.library import Library

CACHE = Path(".bench")
ENCODER = "openclip/vagent-tiny-vit/random"  # the visual channel plays no part in text search
HAYSTACK_VERSION = 2  # bump when haystack.build makes different files for the same plan


MODALITIES = ("on-screen", "subtitle", "spoken")
# The text track that finds each kind of needle.
TRACKS = {"subtitle": "subtitles", "on-screen": "ocr", "spoken": "speech"}


def tracks(modalities: Sequence[str]) -> str:
    """The ``--text`` value a haystack with these needles is indexed with: only the tracks
    its needles need (no OCR when no needle is on screen)."""
    return ",".join(t for m, t in TRACKS.items() if m in modalities)


def plan(
    seconds: float,
    depths: list[float],
    shift: int,
    spoken: bool = False,
    modalities: Sequence[str] = ("on-screen", "subtitle"),
) -> list[dict[str, Any]]:
    """One on-screen and one subtitle needle per depth (those in ``modalities``), different
    sentences, 20 s apart; with ``spoken``, a spoken one too, 40 s after the on-screen one
    (sentences of its own)."""
    rows = []
    for j, depth in enumerate(depths):
        t = round(depth * (seconds - 60.0), 1)
        for m, (modality, offset) in enumerate((("on-screen", 0.0), ("subtitle", 20.0))):
            if modality not in modalities:
                continue
            needle = NEEDLES[(2 * j + m + shift) % len(NEEDLES)]
            rows.append(
                {"depth": depth, "modality": modality, "time": t + offset, "needle": needle}
            )
        if spoken:
            needle = SPOKEN[(j + shift) % len(SPOKEN)]
            rows.append({"depth": depth, "modality": "spoken", "time": t + 40.0, "needle": needle})
    return rows


def _rank(hits: list[Any], video: str, t: float) -> int | None:
    for r, h in enumerate(hits, 1):
        if h.video == video and h.start <= t + 1.0 and t < h.end:
            return r
    return None


def run(
    hours: list[float],
    depths: list[float],
    k: int = 5,
    answerer: str | None = ANSWERER.default,
    planner: str | None = None,
    needles: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Recall@1/5 of every needle question; with ``answerer`` (None: retrieval only) each is
    also asked end to end through the agent (``planner``: None for the default), and the answer
    checked for the needle's words. ``needles``: the kinds hidden (from MODALITIES; None: all,
    spoken ones where espeak-ng is installed); the haystack is indexed with only the text
    tracks they need, and without on-screen needles its frames are small (160x120) and it has
    no filler titles or subtitles."""
    check()
    asked = tuple(MODALITIES if needles is None else needles)
    if unknown := [m for m in asked if m not in MODALITIES]:
        raise VagentError(f"unknown needle kind {unknown[0]!r} (choose from {MODALITIES})")
    voice = shutil.which("espeak-ng") is not None  # spoken needles need a voice
    if needles is not None and "spoken" in asked and not voice:
        raise VagentError("spoken needles are said by espeak-ng, which is not installed")
    spoken = voice and "spoken" in asked
    modalities = [m for m in MODALITIES if m in asked and (m != "spoken" or spoken)]
    if not modalities:
        raise VagentError("no needle kind to hide")
    text = tracks(modalities)
    size = (320, 240) if "on-screen" in modalities else (160, 120)
    titles = "on-screen" in modalities or "subtitle" in modalities
    CACHE.mkdir(exist_ok=True)
    rows: list[dict[str, Any]] = []
    speed: dict[str, float] = {}
    ocr: dict[str, dict[str, int]] = {}
    share: dict[str, float] = {}
    for li, h in enumerate(hours):
        seconds = round(h * 3600)
        placed = plan(seconds, depths, shift=li, spoken=spoken, modalities=modalities)
        tag = hashlib.sha1(repr((depths, modalities, size, HAYSTACK_VERSION)).encode()).hexdigest()[
            :8
        ]
        path = CACHE / f"haystack-{seconds}s-{len(depths)}d-{li}-{tag}.mp4"
        if not path.exists():
            haystack.build(
                path,
                seconds,
                [(n["time"], n["needle"].sentence) for n in placed if n["modality"] == "on-screen"],
                [(n["time"], n["needle"].sentence) for n in placed if n["modality"] == "subtitle"],
                size=size,
                spoken=[
                    (n["time"], n["needle"].sentence) for n in placed if n["modality"] == "spoken"
                ],
                titles=titles,
            )
        if spoken:
            share[f"{h:g}h"] = json.loads(path.with_suffix(".json").read_text())["speech_share"]
        with tempfile.TemporaryDirectory() as tmp:
            lib = Library.open(Path(tmp) / "needle")
            t0 = time.perf_counter()
            report = lib.index([str(path)], encoder=ENCODER, text=text, progress=False)
            wall = time.perf_counter() - t0
            if report.failed:
                raise RuntimeError(f"{path}: {report.failed[0][1]}")
            speed[f"{h:g}h"] = round(seconds / wall, 2)
            ocr[f"{h:g}h"] = {"read": report.ocr_frames_read, "reused": report.ocr_frames_reused}
            video = str(path.resolve())
            for n in placed:
                for kind, q in (
                    ("shares-words", n["needle"].question),
                    ("reworded", n["needle"].reworded),
                ):
                    hits = lib.search(q, k=k, mode="text")
                    rows.append(
                        {
                            "hours": h,
                            "depth": n["depth"],
                            "modality": n["modality"],
                            "kind": kind,
                            "rank": _rank(hits, video, n["time"]),
                            "sentence": n["needle"].sentence,
                            "question": q,
                            "time": n["time"],
                            "expected": n["needle"].answer,
                        }
                    )
            if answerer:
                ask_all(lib, answerer, [r for r in rows if r["hours"] == h], planner)
            lib.close()
    return {
        "k": k,
        "rows": rows,
        "summary": summarise(rows),
        "index_video_s_per_s": speed,
        "ocr_frames": ocr,
        "needles": modalities,
        "text_tracks": text,
        "speech_share": share,
    }


def ask_all(
    lib: Library, answerer: str, rows: list[dict[str, Any]], planner: str | None = None
) -> None:
    """Ask each row's question through the agent; record the answer, whether it holds the
    needle's answer words and cites the needle's moment, and the plan step's time."""
    from vagent.agent import Agent
    from vagent.agent.evaluate import holds_answer

    with Agent.open(lib, answerer=answerer, planner=planner, checkpoint=False) as agent:
        for r in rows:
            res = agent.ask(r["question"])
            r["answer"] = res.answer
            r["answer_correct"] = holds_answer(r["expected"], res.answer)
            r["cited"] = any(
                c.start <= r["time"] + 1.0 and r["time"] < c.end for c in res.citations
            )
            r["answerer"] = res.trace["answerer"]
            r["planner"] = res.trace["planner"]
            r["plan_ms"] = sum(n["ms"] for n in res.trace["nodes"] if n["node"] == "plan")


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["kind"], r["modality"], f"{r['hours']:g}h")].append(r)
    out: dict[str, Any] = {}
    for (kind, modality, hours), group in sorted(groups.items()):
        ranks = [r["rank"] for r in group]
        cell: dict[str, Any] = {
            "recall@1": round(sum(r == 1 for r in ranks) / len(ranks), 3),
            "recall@5": round(sum(r is not None and r <= 5 for r in ranks) / len(ranks), 3),
            "n": len(ranks),
        }
        asked = [r for r in group if "answer_correct" in r]
        if asked:
            cell["answer_accuracy"] = round(sum(r["answer_correct"] for r in asked) / len(asked), 3)
            cell["cited"] = round(sum(r["cited"] for r in asked) / len(asked), 3)
            cell["plan_p50_ms"] = round(statistics.median(r["plan_ms"] for r in asked), 1)
        out.setdefault(kind, {}).setdefault(modality, {})[hours] = cell
    return out


def heatmap(rows: list[dict[str, Any]], path: str) -> None:
    """Recall@5 per (haystack length, depth), one panel per question kind and modality."""
    from PIL import Image, ImageDraw, ImageFont

    hours = sorted({r["hours"] for r in rows})
    depths = sorted({r["depth"] for r in rows})
    kinds = [
        m for m in ("on-screen", "subtitle", "spoken") if any(r["modality"] == m for r in rows)
    ]
    panels = [(k, m) for k in ("shares-words", "reworded") for m in kinds]
    cell, pad, top = 44, 70, 40
    pw = pad + cell * len(depths) + 20
    img = Image.new("RGB", (pw * len(panels), top + cell * len(hours) + 50), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=12)
    for p, (kind, modality) in enumerate(panels):
        x0 = p * pw
        draw.text((x0 + pad, 8), f"{kind}, {modality}", fill="black", font=font)
        for i, h in enumerate(hours):
            draw.text((x0 + 8, top + i * cell + 16), f"{h:g} h", fill="black", font=font)
            for j, d in enumerate(depths):
                cellrows = [
                    r
                    for r in rows
                    if (r["hours"], r["depth"], r["kind"], r["modality"]) == (h, d, kind, modality)
                ]
                found = [r["rank"] is not None and r["rank"] <= 5 for r in cellrows]
                v = sum(found) / len(found) if found else 0.0
                colour = (int(230 * (1 - v)), int(200 * v), 60)
                box = (
                    x0 + pad + j * cell,
                    top + i * cell,
                    x0 + pad + (j + 1) * cell - 2,
                    top + (i + 1) * cell - 2,
                )
                draw.rectangle(box, fill=colour)
                draw.text((box[0] + 10, box[1] + 15), f"{v:.1f}", fill="white", font=font)
        for j, d in enumerate(depths):
            draw.text(
                (x0 + pad + j * cell + 8, top + len(hours) * cell + 6),
                f"{d:.0%}",
                fill="black",
                font=font,
            )
        draw.text((x0 + pad, top + len(hours) * cell + 26), "needle depth", fill="black", font=font)
    img.save(path)
