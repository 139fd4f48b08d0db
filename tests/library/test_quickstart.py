"""The README quickstart runs as written: in a fresh folder holding what `make demo` makes
(`videos/`), each `$ vagent ...` line of its shell block is run with the venv's `vagent` on the
PATH, and what it prints must match the README line for line: names, counts, scores, first
hits, answers and citations. Only what changes from run to run is masked (times, thread ids,
file sizes, the temp folder). Then its Python block runs too. So the README cannot drift."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from vagent.demo import make_videos

README = REPO / "README.md"
README_ROOT = "/tmp/qs"  # the folder the README's output was made in
VOLATILE = [
    (re.compile(r"in \d+(\.\d+)? s \(\d+(\.\d+)?x real time\)"), "in T s (Rx real time)"),
    (re.compile(r"thread: [0-9a-f]{32}"), "thread: ID"),
    (re.compile(r"catalog [\d,]+ B, vectors [\d,]+ B"), "catalog N B, vectors N B"),
]


def quickstart() -> tuple[list[tuple[str, list[str]]], str]:
    """The quickstart's shell commands with their printed output, and its Python block."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w*)\n(.*?)```", section, flags=re.S)
    shell = next(body for lang, body in blocks if not lang and "$ vagent" in body)
    python = next(body for lang, body in blocks if lang == "python")
    commands: list[tuple[str, list[str]]] = []
    for line in shell.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands and line.strip():
            commands[-1][1].append(line)
    return commands, python


def _mask(line: str, root: str) -> str:
    line = line.replace(root, "<root>").rstrip()
    for pattern, repl in VOLATILE:
        line = pattern.sub(repl, line)
    return line


def _env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VAGENT_HOME", "VAGENT_DEBUG")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"  # stdout and stderr interleave as on a terminal
    env["COLUMNS"] = "100"
    return env


def run_shell(cmd: str, folder: Path) -> list[str]:
    """What ``cmd`` prints (stdout and stderr as on a terminal), non-blank lines."""
    run = subprocess.run(
        ["bash", "-c", f"{{ {cmd}; }} 2>&1"],
        cwd=folder,
        env=_env(folder),
        capture_output=True,
        text=True,
        check=False,
    )
    return [x.rstrip() for x in run.stdout.splitlines() if x.strip()]


def test_readme_quickstart_parses() -> None:
    commands, python = quickstart()
    assert commands[0][0].startswith("vagent index videos/")
    assert all(cmd.startswith("vagent ") for cmd, _ in commands)
    assert all(out for _, out in commands), "every command shows what it prints"
    assert "Library.open" in python and "if not hits" in python


@pytest.mark.slow
def test_readme_quickstart_runs_as_printed(tmp_path: Path) -> None:
    folder = tmp_path / "qs"
    folder.mkdir()
    made = make_videos(folder / "videos")  # what `make demo` leaves for the quickstart
    assert sorted(p.name for p in (folder / "videos").iterdir()) == [
        "bikes.mp4", "talk.mp4", "talk.srt"
    ] and len(made) == 2  # fmt: skip
    commands, python = quickstart()
    env = _env(folder)
    for cmd, expected in commands:
        got = [_mask(x, str(folder)) for x in run_shell(cmd, folder)]
        want = [_mask(x, README_ROOT) for x in expected]
        assert got == want, f"$ {cmd}\n" + "\n".join(got)
    assert (folder / "indexes" / "lectures" / "catalog.db").exists()  # ./indexes by default

    run = subprocess.run(
        [sys.executable, "-c", python], cwd=folder, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout.splitlines()
    assert out[0].startswith(str(folder / "videos" / "talk.mp4")), run.stdout
    assert "plan" in run.stdout and "finish" in run.stdout
    assert "Traceback" not in run.stderr and "Warning" not in run.stderr


def test_demo_makes_the_quickstart_files_once_and_says_how_to_reach_vagent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vagent import demo

    folder = tmp_path / "videos"
    made = demo.make_videos(folder)
    assert [p.name for p in made] == ["talk.mp4", "bikes.mp4"]
    assert sorted(p.name for p in folder.iterdir()) == ["bikes.mp4", "talk.mp4", "talk.srt"]
    stamp = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    demo.make_videos(folder)  # a second `make demo` keeps them
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == stamp
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # vagent not on PATH: say how to get it
    exe = Path(sys.executable)
    monkeypatch.chdir(exe.parents[2])  # the repository folder, as `make demo` runs
    rel = exe.parent.relative_to(exe.parents[2])  # .venv/bin
    assert demo._reach_vagent().startswith(f"run `. {rel}/activate` to put vagent on your PATH")
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    assert demo._reach_vagent() == "vagent is on your PATH"


if (
    __name__ == "__main__"
):  # regenerate the README's shell block: python -m tests.library.test_quickstart
    root = Path(README_ROOT)
    if root.exists():
        sys.exit(f"{root} exists: remove it first (the README's output is made there)")
    make_videos(root / "videos")
    for cmd, _ in quickstart()[0]:
        print(f"$ {cmd}", *run_shell(cmd, root), "", sep="\n")
