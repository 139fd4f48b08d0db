"""Child process for ``vagent bench ingest``: index one video into a fresh library, print JSON
with the throughput and this process's peak memory (so each video length is measured alone)."""

from __future__ import annotations

import argparse
import json
import tempfile

from vagent.bench.measure import peak_rss_mib
from vagent.library import Library


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--video", required=True)
    ap.add_argument("--encoder", required=True)
    ap.add_argument("--fps", type=float, default=1.0)
    ap.add_argument("--batch-size", type=int, default=32)
    # off: every sampled frame encoded, the pipeline the bound describes; on: near-duplicates
    # reuse the last encoded vector (`vagent bench ingest --content` compares the two)
    ap.add_argument("--dedupe", choices=["on", "off"], default="off")
    ap.add_argument("--segment-seconds", type=float, default=None)
    ap.add_argument("--query", action="append", default=[], help="also report its top 10")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lib = Library.open(f"{tmp}/bench")
        # frames only: the bound is decode + CLIP (`vagent bench needle` measures the text track)
        report = lib.index(
            [a.video],
            encoder=a.encoder,
            fps=a.fps,
            batch_size=a.batch_size,
            text="none",
            progress=False,
            dedupe=a.dedupe == "on",
            segment_seconds=a.segment_seconds,
        )
        if report.failed:
            raise SystemExit(f"{report.failed[0][0]}: {report.failed[0][1]}")
        tops = {q: [[h.start, h.end] for h in lib.search(q, 10, mode="visual")] for q in a.query}
    print(
        json.dumps(
            {
                "video_seconds": report.video_seconds,
                "wall_seconds": report.wall_seconds,
                "video_s_per_s": report.video_seconds / report.wall_seconds,
                "frames_encoded": report.frames_encoded,
                "frames_reused": report.frames_reused,
                "peak_rss_mib": round(peak_rss_mib(), 1),
                "tops": tops,
            }
        )
    )


if __name__ == "__main__":
    main()
