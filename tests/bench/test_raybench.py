"""`vagent bench ray`: bad input is one line before anything is made; a tiny run on a real
2-node cluster (loopback only, namespaces of its own) reports consistent figures (a smoke test,
not a timing test)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import TINY_CLIP, run_vagent
from vagent.bench.raycluster import unavailable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BAD = {
    "no clips": (["--clips", "0"], "--clips must be a whole number in [1, 1000]; got '0'"),
    "zero seconds": (["--seconds", "0"], "--seconds must be"),
    "short timeout": (["--timeout", "1"], "--timeout must be"),
    "tiny size": (["--size", "8x8"], "--size must be"),
    "not an address": (["--address", "nonsense"], "--address must be HOST:PORT or auto"),
    "nothing listening": (["--address", "PORT"], "cannot reach the Ray cluster at 127.0.0.1:"),
    "no ray": ([], "bench ray needs Ray: pip install 'vagent[ray]'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_and_makes_nothing(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args, why = BAD[case]
    if case == "nothing listening":
        pytest.importorskip("ray")
        args = ["--address", f"127.0.0.1:{_free_port()}"]
    if case == "no ray":
        monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.chdir(tmp_path)
    code, out, err = run_vagent("bench", "ray", *args)
    assert code == 2 and out == "", err
    assert err.startswith(f"error: {why}") and len(err.strip().splitlines()) == 1, err
    assert list(temp.iterdir()) == []  # no clips, no libraries


@pytest.mark.slow
def test_a_tiny_run_reports_consistent_figures(tmp_path: Path) -> None:
    why = unavailable()
    if why is not None:
        pytest.skip(why)
    argv = ["bench", "ray", "--clips", "2", "--seconds", "4", "--encoder", TINY_CLIP, "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "vagent", *argv, "--timeout", "400"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=480,
        env={**os.environ, "VAGENT_HOME": str(tmp_path / "home")},
    )
    assert done.returncode == 0, done.stderr
    r = json.loads(done.stdout)
    local, ray = r["local"], r["ray"]
    for side in (local, ray):
        assert side["videos"] == 2 and side["video_seconds"] == pytest.approx(8.0, abs=0.1)
        rate = side["video_seconds"] / side["index_s"]
        assert side["video_s_per_s"] == pytest.approx(rate, rel=0.01)
        loading = side["video_seconds"] / side["process_s"]
        assert side["video_s_per_s_with_loading"] == pytest.approx(loading, rel=0.01)
        assert side["process_s"] > side["index_s"]  # the process also starts and loads
    assert r["ratio"] == pytest.approx(ray["video_s_per_s"] / local["video_s_per_s"], rel=0.01)
    assert r["ratio_with_loading"] == pytest.approx(
        ray["video_s_per_s_with_loading"] / local["video_s_per_s_with_loading"], rel=0.01
    )
    assert r["target"] == 0.85 and r["met"] == (r["ratio"] >= 0.85)
    # both nodes of the cluster it started; every video encoded on one of them
    assert len(r["videos_per_node"]) <= 2 and sum(r["videos_per_node"].values()) == 2
    assert r["cluster_start_s"] > 0 and "127.0.0.1" in r["cluster"]
    assert r["rows"]["local"] == r["rows"]["ray"] and r["rows_equal"] is True
    assert r["rows"]["local"]["videos"] == 2 and r["rows"]["local"]["frames"] == 8
    assert r["random_weights"] is True and r["dedupe"] == "off"
    # progress went to stderr, one line a step
    assert "bench ray: cluster up in" in done.stderr
