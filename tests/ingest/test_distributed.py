"""Ingest on a real 2-node Ray cluster (``vagent index --ray``), all on loopback.

The cluster, the driver and everything they start run inside a network namespace this test makes
(``unshare --net``, only ``lo`` up), so no Ray traffic can leave the machine, and a PID namespace,
so every Ray process ends with it. Inside: ``ray start --head`` and a second ``ray start`` (node
two), one CPU each; ``vagent index --ray 127.0.0.1:PORT`` over videos this test makes. The
first driver is SIGKILLed once two videos have landed; the same command again must resume (the
landed videos skipped, the others indexed) and exit promptly after its report. While it runs,
once two more videos have landed and node two is encoding another, node two's raylet and workers
are killed. The run must end with every video indexed (Ray retries the lost file on the head
node), files encoded on both nodes, and a library equal to one indexed locally.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from tests.conftest import COLOUR, REPO, TINY_CLIP, run_vagent
from vagent import Library
from vagent.bench.raycluster import NAMESPACES, PORT, start_local_cluster, unavailable
from vagent.catalog import FrameRow, SegmentRow, VideoRow
from vagent.synth import make_video

COLOURS = ["red", "green", "blue", "yellow", "white", "black", "purple", "orange"]
# Two land before the first driver is killed; the rerun has eight, as many as node two's loss
# needs (two landed while node two encodes another, whichever node started its worker first).
VIDEOS = 10
INDEX_ARGS = ["--encoder", TINY_CLIP, "--text", "none", "--fps", "4", "--dedupe", "off"]
# Seconds the resumed driver may take to exit once its report is written (it once hung there).
EXIT_BOUND = 20.0


def _videos(folder: Path) -> list[Path]:
    folder.mkdir()
    out = []
    for i in range(VIDEOS):
        colour, other = COLOURS[i % len(COLOURS)], COLOURS[(i + 3 + i // 8) % len(COLOURS)]
        out.append(
            make_video(
                folder / f"v{i}.mp4", [colour, other], 4.0, size=(160, 120), texture=True, seed=i
            )
        )
    return out


def _snapshot(name: str) -> dict[str, Any]:
    """Per video path: its row fields, segments, frame times and frame/segment vectors."""
    lib = Library.open(name)
    vectors = lib._reader_vectors(lib.settings())
    out: dict[str, Any] = {}
    with lib.catalog.session() as s:
        for v in s.scalars(select(VideoRow)):
            segs = list(s.scalars(select(SegmentRow).where(SegmentRow.video_id == v.id)))
            segs.sort(key=lambda r: r.start)
            frames = list(s.scalars(select(FrameRow).where(FrameRow.video_id == v.id)))
            frames.sort(key=lambda r: r.time)
            out[v.path] = {
                "row": (v.content_hash, v.duration, v.sampled_frames, v.width, v.height),
                "segments": [(r.start, r.end, r.n_frames) for r in segs],
                "times": [f.time for f in frames],
                "frames": vectors.frames.reconstruct(np.array([f.id for f in frames], np.int64)),
                "segment_vectors": vectors.segments.reconstruct(
                    np.array([r.id for r in segs], np.int64)
                ),
            }
    return out


@pytest.mark.slow
def test_index_on_a_two_node_ray_cluster_survives_a_lost_node(tmp_path: Path) -> None:
    why = unavailable()
    if why is not None:
        pytest.skip(why)
    paths = _videos(tmp_path / "videos")
    # a copy, planned right before its original: a duplicate of a file still in flight
    copy = tmp_path / "videos" / "v1-copy.mp4"
    copy.write_bytes(paths[1].read_bytes())
    paths[1] = copy
    code, out, err = run_vagent(
        "index", str(tmp_path / "videos"), "--library", "here", *INDEX_ARGS, "--json"
    )
    assert code == 0, err
    assert json.loads(out)["skipped"] == [str(tmp_path / "videos" / "v1.mp4")]
    # Ray's socket paths must stay under 108 bytes: a short folder of its own under /tmp
    temp = tempfile.mkdtemp(prefix="vray-", dir="/tmp")
    config = {"videos": str(tmp_path / "videos"), "temp": temp, "home": os.environ["VAGENT_HOME"]}
    cmd = [*NAMESPACES, sys.executable, "-m", "tests.ingest.test_distributed", json.dumps(config)]
    root = REPO
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=420, cwd=root)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print("phases (s):", result["seconds"], "exit after report:", result["exit_after_report"])
    assert result["rc"] == 0, result["stderr"]
    report = result["report"]
    # the killed driver landed some videos whole; the rerun skipped those and indexed the rest
    first = result["landed_by_killed"]
    assert 2 <= len(first) < len(paths), result
    assert sorted(report["indexed"]) == sorted(str(p) for p in paths if str(p) not in first)
    assert not report["failed"], result["stderr"]
    # as locally: v1.mp4 a copy of v1-copy.mp4
    assert sorted(report["skipped"]) == sorted([*first, str(tmp_path / "videos" / "v1.mp4")])
    assert result["exit_after_report"] < EXIT_BOUND, result
    # node two encoded files before it was killed while encoding another; the head did the rest
    assert result["busy_when_killed"], result
    assert result["node_two"] in report["nodes"] and len(report["nodes"]) == 2, result
    assert sum(report["nodes"].values()) == len(report["indexed"])
    here, there = _snapshot("here"), _snapshot("ray")
    assert sorted(here) == sorted(there) == sorted(str(p) for p in paths)
    for path, mine in here.items():
        theirs = there[path]
        assert mine["row"] == theirs["row"] and mine["segments"] == theirs["segments"]
        assert mine["times"] == theirs["times"] and len(mine["times"]) == 32
        np.testing.assert_allclose(theirs["frames"], mine["frames"], atol=1e-4)
        np.testing.assert_allclose(theirs["segment_vectors"], mine["segment_vectors"], atol=1e-4)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("case", ["no ray", "nothing listening"])
def test_ray_that_cannot_be_used_is_one_line_and_leaves_nothing(
    case: str, colour_plugin: None, videos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if case == "no ray":
        monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
        address, why = "auto", "--ray needs Ray on this machine and every node"
    else:
        pytest.importorskip("ray")
        address = f"127.0.0.1:{_free_port()}"  # refused at once: Ray itself would retry minutes
        why = f"cannot reach the Ray cluster at {address}: Connection refused"
    t0 = time.monotonic()
    code, out, err = run_vagent(
        "index", str(videos), "--library", "lib", "--encoder", COLOUR, "--text", "none",
        "--ray", address,
    )  # fmt: skip
    assert code == 2 and out == "" and time.monotonic() - t0 < 30
    assert err.startswith(f"error: {why}") and len(err.strip().splitlines()) == 1, err
    assert not Library.open("lib").exists()


HANGS = {
    # a thread that is not a daemon and never ends (the interpreter waits for it)
    "a thread": "threading.Thread(target=time.sleep, args=(1000,)).start()",
    # a finalizer that never returns (daemon threads no longer run by then)
    "finalizing": "class Stuck:\n    def __del__(self): time.sleep(1000)\nstuck = Stuck()",
}


@pytest.mark.parametrize("hang", sorted(HANGS))
def test_a_driver_that_hangs_after_its_report_still_exits(hang: str, tmp_path: Path) -> None:
    # the vagent command after a Ray run; its report says a file failed and others landed
    script = tmp_path / "vagent"
    script.write_text(
        "import sys, threading, time\n"
        "from vagent.ingest.distributed import exit_watchdog\n"
        "from vagent.types import IndexReport\n"
        "report = IndexReport(indexed=['a.mp4'], failed=[('b.mp4', 'not a video')])\n"
        "exit_watchdog(report, seconds=1.0)\n"
        f"{HANGS[hang]}\n"
        "print(time.monotonic(), flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    ended = time.monotonic()
    assert done.returncode == 1, done.stderr  # the code its report gives: some files failed
    assert ended - float(done.stdout.split()[-1]) < 1.0 + 5.0 + 4.0  # 4 s for a loaded machine


def test_a_process_that_imports_vagent_is_never_ended_by_the_watchdog() -> None:
    from vagent.ingest import distributed
    from vagent.types import IndexReport

    distributed.exit_watchdog(IndexReport(), seconds=0.0)  # pytest is not the vagent command
    assert distributed._WATCHING == []


# ---- inside the namespaces (python -m tests.ingest.test_distributed CONFIG) ------------------


def _node_two() -> Any:
    """The raylet of the node that is not the head."""
    import psutil

    for p in psutil.process_iter(["name", "cmdline"]):
        cmd = p.info["cmdline"] or []
        if p.info["name"] == "raylet" and "--head" not in cmd:
            return p
    raise AssertionError("node two's raylet is not running")


def _landed(catalog: Path) -> list[str]:
    """The paths of the videos landed in ``catalog`` so far."""
    try:
        with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=1) as db:
            return [str(r[0]) for r in db.execute("select path from videos")]
    except sqlite3.Error:
        return []


class _Driver:
    """``vagent index --ray`` running, its stdout read as it comes (when the report came)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self.report_at: float | None = None
        self.threads = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out, True)),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err, False)),
        ]
        for t in self.threads:
            t.start()

    def _read(self, stream: Any, into: list[str], report: bool) -> None:
        for line in stream:
            if report and self.report_at is None:
                self.report_at = time.monotonic()
            into.append(line)

    def wait(self, deadline: float) -> float:
        """Wait for it to exit (killed at ``deadline``); when it exited."""
        try:
            self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        ended = time.monotonic()
        for t in self.threads:
            t.join()
        return ended


def _encoding(raylet: Any) -> bool:
    """Whether a worker of ``raylet``'s node is running a file's work now."""
    import psutil

    for child in raylet.children(recursive=True):
        try:
            if " ".join(child.cmdline()).startswith("ray::encode_file"):
                return True
        except psutil.Error:
            continue
    return False


def _inside(config: dict[str, str]) -> dict[str, Any]:
    t0 = time.monotonic()
    env = {**os.environ, "VAGENT_HOME": config["home"], "RAY_TMPDIR": config["temp"]}
    # a lost node is noticed in about 1.5 s instead of about 15 s
    env |= {
        "RAY_health_check_period_ms": "500",
        "RAY_health_check_failure_threshold": "3",
        "RAY_health_check_initial_delay_ms": "0",
    }
    start_local_cluster(config["temp"], env, PORT)
    raylet = _node_two()
    node_two = next(a for a in raylet.cmdline() if a.startswith("--node_id=")).split("=", 1)[1]
    argv = [
        sys.executable,
        "-m",
        "vagent",
        "index",
        config["videos"],
        "--library",
        "ray",
        *INDEX_ARGS,
        "--ray",
        f"127.0.0.1:{PORT}",
        "--json",
    ]
    seconds = {"cluster": time.monotonic() - t0}
    catalog = Path(config["home"]) / "ray" / "catalog.db"
    # the first driver is SIGKILLed once two videos have landed
    killed = _Driver(argv, env)
    deadline = time.monotonic() + 150
    while killed.proc.poll() is None and time.monotonic() < deadline:
        if len(_landed(catalog)) >= 2:
            break
        time.sleep(0.01)
    killed.proc.send_signal(signal.SIGKILL)
    killed.wait(deadline)
    first = _landed(catalog)
    seconds["driver killed"] = time.monotonic() - t0
    # the same command again resumes; node two is lost while it runs
    driver = _Driver(argv, env)
    busy = False
    deadline = time.monotonic() + 180
    while driver.proc.poll() is None and time.monotonic() < deadline:
        if len(_landed(catalog)) >= len(first) + 2 and _encoding(raylet):
            busy = True
            break
        time.sleep(0.01)
    seconds["node killed"] = time.monotonic() - t0
    for p in [*raylet.children(recursive=True), raylet]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGKILL)
    ended = driver.wait(deadline)
    seconds["done"] = time.monotonic() - t0
    out, err = "".join(driver.out), "".join(driver.err)
    try:
        report = json.loads(out)
    except ValueError:
        report = None
    return {
        "rc": driver.proc.returncode,
        "report": report,
        "stdout": out[-2000:],
        "stderr": err[-4000:],
        "busy_when_killed": busy,
        "landed_by_killed": first,
        "killed_stderr": "".join(killed.err)[-2000:],
        "exit_after_report": ended - (driver.report_at or 0.0),
        "node_two": node_two,
        "seconds": seconds,
    }


if __name__ == "__main__":
    print(json.dumps(_inside(json.loads(sys.argv[1]))))
