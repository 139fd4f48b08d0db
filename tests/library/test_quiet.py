"""Quiet by default, visible while it works: `vagent ask` prints a line per step on stderr (not
with --json), and nothing from the libraries underneath (warnings, root log lines) unless
VAGENT_DEBUG=1; the random-weight warning comes once per library and process."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import COOKING_SRT, TINY_CLIP
from vagent import plugins
from vagent.components import ANSWERER, PLANNER, TEXT_ENCODER, VISUAL_ENCODER
from vagent.synth import make_video
from vagent.types import Evidence, Question

NODES = ("plan", "retrieve", "select", "gather", "answer", "verify", "finish")
THIRD_PARTY_NOISE = ("Warning:", "WARNING:", "past_key_values", "Traceback")


def _vagent(tmp_path: Path, *args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "VAGENT_DEBUG"}
    env["VAGENT_HOME"] = str(tmp_path / "home")
    if debug:
        env["VAGENT_DEBUG"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "vagent", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


@pytest.mark.slow
def test_ask_shows_steps_and_no_third_party_warnings(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    make_video(clips / "cooking.mp4", ["red", "green", "blue", "white", "black"], 10.0,
               size=(160, 120))  # fmt: skip
    (clips / "cooking.srt").write_text(COOKING_SRT)
    idx = _vagent(tmp_path, "index", str(clips), "-l", "k", "--encoder", TINY_CLIP,
                  "--text", "subtitles")  # fmt: skip
    assert idx.returncode == 0, idx.stderr
    assert idx.stderr.count("random-weight encoder") == 1

    # default answerer (hf-text on a CPU), progress asked for because stderr is a pipe here
    q = "How many spoons of salt do we add?"
    res = _vagent(tmp_path, "ask", q, "-l", "k", "--options", "A) two", "B) three", "--progress")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("B)"), res.stdout
    steps = [ln for ln in res.stderr.splitlines() if ln.startswith("ask: ")]
    assert steps[0].startswith("ask: loading models for library 'k'")
    assert steps[1].startswith("ask: models") and steps[1].rstrip().endswith("loaded")
    named = [ln.split()[1] for ln in steps[2:]]
    assert named[0] == "plan" and named[-1] == "finish" and set(NODES) <= set(named)
    assert all(ln.split()[3] == "s" and float(ln.split()[2]) >= 0 for ln in steps[1:])
    assert "ask: plan" in res.stderr and "quer" in steps[2]  # "3 queries"
    for noise in THIRD_PARTY_NOISE:
        assert noise not in res.stderr, res.stderr
    assert res.stderr.count("random-weight encoder") <= 1

    # --json: no step lines unless asked for; stdout stays pure JSON
    res = _vagent(tmp_path, "ask", q, "-l", "k", "--json")
    assert res.returncode == 0, res.stderr
    assert "ask: plan" not in res.stderr and res.stdout.lstrip().startswith("{")
    for noise in THIRD_PARTY_NOISE:
        assert noise not in res.stderr, res.stderr

    # a timeout with hf-text in use does not advise switching to hf-text
    res = _vagent(tmp_path, "ask", q, "-l", "k", "--answerer", "hf-text", "--timeout", "0.01")
    assert res.returncode == 2
    err = res.stderr.strip().splitlines()[-1]
    assert "gave no answer within 0.01 s" in err and "--answerer hf-text" not in err


def test_random_clip_says_so_only_through_vagent(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """open_clip's root-logger line ("No pretrained weights loaded") is not printed (the
    library says "random weights" itself, once) and installs no root handler; VAGENT_DEBUG
    shows it."""
    monkeypatch.delenv("VAGENT_DEBUG", raising=False)
    root = logging.getLogger()
    handlers = list(root.handlers)
    with caplog.at_level(logging.INFO):
        plugins.registry().create(VISUAL_ENCODER, TINY_CLIP).load()
    assert not [r for r in caplog.records if r.name == "root"], caplog.text
    assert root.handlers == handlers  # no basicConfig() handler left to print later warnings
    caplog.clear()
    monkeypatch.setenv("VAGENT_DEBUG", "1")
    with caplog.at_level(logging.INFO):
        plugins.registry().create(VISUAL_ENCODER, TINY_CLIP).load()
    assert "No pretrained weights loaded" in caplog.text


def test_no_search_or_ask_needs_clip_when_its_weights_are_random(tmp_path: Path) -> None:
    """A random-weight visual channel is left out of hybrid search, so a cold search neither
    loads CLIP nor imports open_clip, and the query's MiniLM vector comes from NumPy: no torch
    import at all (the seconds of a cold `vagent search`)."""
    clips = tmp_path / "clips"
    clips.mkdir()
    make_video(clips / "cooking.mp4", ["red", "green", "blue", "white", "black"], 10.0,
               size=(160, 120))  # fmt: skip
    (clips / "cooking.srt").write_text(COOKING_SRT)
    assert _vagent(tmp_path, "index", str(clips), "-l", "k", "--encoder", TINY_CLIP,
                   "--text", "subtitles").returncode == 0  # fmt: skip
    code = (
        "import sys\n"
        "from vagent import Library\n"
        "lib = Library.open('k')\n"
        "hits = lib.search('spoons of salt', k=3)\n"
        "print(hits[0].start, [m for m in ('open_clip', 'torch') if m in sys.modules])\n"
        "lib.load_models()\n"
        "print(lib.encoder()._model is None)\n"
    )
    env = {**os.environ, "VAGENT_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env=env, check=True)  # fmt: skip
    first, second = out.stdout.splitlines()
    assert first == "20.0 []", out.stdout + out.stderr  # nor torch: MiniLM ran in NumPy
    assert second == "True"  # load_models() leaves the unused random CLIP unloaded


@pytest.mark.slow
def test_hf_text_uses_the_current_cache_argument() -> None:
    """transformers 5 deprecates ``past_key_values=`` (a FutureWarning per forward call);
    the hf-text answerer passes the cache the current way, so there is nothing to hide."""
    ans = plugins.registry().create(ANSWERER, "hf-text", max_new_tokens=8)
    span = {"source": "subtitle", "start": 22.0, "end": 26.0,
            "text": "After the break we add three spoons of salt"}  # fmt: skip
    ev = [Evidence("cooking.mp4", 1, 1, 20.0, 30.0, 0.9, texts=[span])]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ans.answer([Question("How much salt?", ["two spoons", "three spoons"], ev)])
        ans.answer([Question("How much salt?", None, ev)])
    noisy = [str(w.message) for w in seen if issubclass(w.category, FutureWarning)]
    assert not [m for m in noisy if "past_key_values" in m], noisy


def test_numpy_minilm_query_vectors_equal_sentence_transformers() -> None:
    """The NumPy path for queries gives sentence-transformers' vectors (same space)."""
    from vagent_sbert.encoder import LIGHT_MAX_TEXTS

    enc = plugins.registry().create(TEXT_ENCODER, "st/all-MiniLM-L6-v2")
    enc.load()
    assert enc.dim == 384 and enc._model is None  # loading opened the NumPy path only
    texts = ["how big is each step", "Ünïcode, punctuation!!! " * 12, "x"]
    light = enc.encode(texts)
    assert enc._model is None
    full = enc.encode(texts * LIGHT_MAX_TEXTS)[: len(texts)]  # a batch: the torch model
    assert enc._model is not None
    assert light.dtype == full.dtype == np.float32 and light.shape == (3, 384)
    assert np.abs(light - full).max() < 1e-5
    assert np.allclose(np.linalg.norm(light, axis=1), 1.0, atol=1e-6)


def test_the_default_planner_is_the_rules() -> None:
    """The plan step costs nothing by default (measured: the LLM plan added no accuracy worth
    its seconds on a CPU; see vagent.agent.choose); `--planner llm` still gives it."""
    from vagent.agent.choose import default_planner

    reg = plugins.registry()
    assert default_planner(reg) == "rules" and "llm" in reg.names(PLANNER)


@pytest.mark.usefixtures("colour_plugin")
def test_a_vagent_warning_is_a_python_warning_and_one_cli_line(
    videos: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Library code warns through ``warnings`` (a Python caller filters it; nothing is printed
    behind its back); the CLI prints the same warning as its one ``warning:`` line."""
    from tests.conftest import run_vagent
    from vagent.errors import VagentWarning
    from vagent.library import Library
    from vagent.search import read
    from vagent.vector_deltas import names

    lib = Library.open("dmg")
    for name in ("yw.mp4", "rgb.mp4"):  # generations 1 and 2
        lib.index([str(videos / name)], encoder="colour", text="none", progress=False)
    record = json.loads(lib.settings().vector_files or "{}")
    seg = lib.root / names(record["files"]["segments"])[-1]  # generation 2's newest file
    seg.write_bytes(seg.read_bytes()[:-10])
    capsys.readouterr()
    with pytest.warns(VagentWarning, match="meanwhile reading generation 1") as seen:
        assert Library.open("dmg").search("red", k=1)
    assert len(seen) == 1 and str(seg) in str(seen[0].message)
    assert capsys.readouterr().err == ""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=VagentWarning)
        monkeypatch.setattr(read, "_WARNED", set())
        assert Library.open("dmg").search("red", k=1)  # filtered out: no warning, no error

    monkeypatch.setattr(read, "_WARNED", set())
    code, _out, err = run_vagent("search", "red", "--library", "dmg", "--json")
    assert code == 0, err
    assert err.startswith(f"warning: {seg}: vector file damaged") and err.count("\n") == 1, err


@pytest.mark.parametrize("debug", [False, True])
def test_chatter_goes_to_logging_shown_only_with_vagent_debug(tmp_path: Path, debug: bool) -> None:
    """Log records under ``vagent`` are silent by default (no last-resort handler prints a
    warning-level record either) and shown on stderr with VAGENT_DEBUG=1."""
    code = (
        "import logging, vagent, vagent.logs\n"
        "logging.getLogger('vagent.search').warning('older generation read')\n"
        "vagent.logs.configure()\n"
        "logging.getLogger('vagent.search').debug('loaded generation 2')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "VAGENT_DEBUG"}
    if debug:
        env["VAGENT_DEBUG"] = "1"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env=env, check=True)  # fmt: skip
    assert out.stderr == ("vagent.search: loaded generation 2\n" if debug else ""), out.stderr


@pytest.mark.parametrize("flags", [[], ["-W", "ignore::UserWarning"]])
def test_a_script_sees_a_vagent_warning_as_its_one_line(tmp_path: Path, flags: list[str]) -> None:
    """In a script too a VagentWarning shows as the CLI's line (no file:line, no source line),
    and Python's filters decide whether it shows (a VagentWarning is a UserWarning)."""
    code = (
        "import warnings, vagent\n"
        "from vagent.errors import InputSkipped, VagentWarning\n"
        "for _ in range(2):  # the default filter: once per place\n"
        "    warnings.warn('older generation read', VagentWarning)\n"
        "warnings.warn('a.mp4: not a video', InputSkipped)\n"
        "warnings.warn('plain', UserWarning)\n"
    )
    out = subprocess.run([sys.executable, *flags, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True)  # fmt: skip
    lines = out.stderr.splitlines()
    if flags:
        assert lines == []
    else:
        assert lines[:2] == ["warning: older generation read", "error: a.mp4: not a video"]
        assert "UserWarning: plain" in lines[2]  # other warnings: as Python shows them
