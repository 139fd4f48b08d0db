"""The transformers plugin (vagent_hf): real SmolLM2 answers from evidence text, its converted
copy is cached and reused, the tiny random SmolVLM runs the real processor and generate path on
frames (and says it is not semantic), and models that cannot be had offline are named."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from vagent_hf import cache
from vagent_hf.evidence import clock, evidence_line, fit, used_evidence
from vagent_hf.text import HFTextAnswerer
from vagent_hf.vlm import pick_frames

from vagent import plugins
from vagent.errors import ModelUnavailable
from vagent.types import Draft, Evidence, Question

TINY = "tiny-random-smolvlm"
LOAD_TIMES: dict[str, float] = {}


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One model cache for the whole session: SmolLM2 is converted from GGUF once."""
    root = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VAGENT_MODEL_CACHE", str(root))
        yield root


@pytest.fixture(scope="session")
def smollm2(model_cache: Path) -> Any:
    answerer = plugins.registry().create("answerer", "hf-text", max_new_tokens=24)
    t0 = time.perf_counter()
    answerer.load()
    LOAD_TIMES["gguf"] = time.perf_counter() - t0
    return answerer


def _span(start: float, end: float, text: str, source: str = "subtitle") -> dict[str, Any]:
    return {"source": source, "start": start, "end": end, "text": text}


def _evidence(frames: bool = False) -> list[Evidence]:
    rng = np.random.default_rng(0)
    ev = [
        Evidence("videos/show.mp4", 1, 1, 0.0, 10.0, 0.4, texts=[_span(2, 5, "Welcome back.")]),
        Evidence(
            "videos/show.mp4",
            1,
            2,
            10.0,
            20.0,
            0.9,
            texts=[_span(12, 16, "Our guest today is the chemist Marie Curie.")],
        ),
        Evidence("videos/show.mp4", 1, 3, 20.0, 30.0, 0.2),
    ]
    if frames:
        for e in ev[:2]:
            e.frame_times = [e.start + 1, e.start + 4, e.start + 7]
            e.frames = rng.integers(0, 256, (3, 90, 120, 3), dtype=np.uint8)
    return ev


GUEST = ["Albert Einstein", "Isaac Newton", "Marie Curie", "Ada Lovelace"]


def _check_mc(d: Draft, n: int) -> None:
    assert d.choice is not None and 0 <= d.choice < n
    assert d.option_scores is not None and len(d.option_scores) == n
    assert sum(d.option_scores) == pytest.approx(1.0, abs=1e-6)
    assert d.confidence == pytest.approx(max(d.option_scores))
    assert d.text.startswith("ABCD"[d.choice] + ") ")


# ---- fast: prompt text and frame picking ------------------------------------------------------


def test_evidence_lines_and_budget() -> None:
    assert clock(0) == "0:00" and clock(75.4) == "1:15" and clock(3725) == "1:02:05"
    ev = _evidence()
    assert evidence_line(1, ev[1]) == (
        '[2] show.mp4 0:10-0:20 (subtitle 0:12-0:16) "Our guest today is the chemist Marie Curie."'
    )
    assert evidence_line(2, ev[2]) == "[3] show.mp4 0:20-0:30"
    # the lowest-scored evidence is dropped first; what is kept stays in temporal order
    assert fit([5, 5, 5], [0.4, 0.9, 0.2], 10) == [0, 1]
    assert used_evidence("Marie Curie", ev) == [1]
    assert used_evidence("the", ev) == []


def test_frames_are_capped_and_spread_evenly() -> None:
    ev = _evidence(frames=True)
    assert pick_frames(ev, 16) == {0: [0, 1, 2], 1: [0, 1, 2]}
    picked = pick_frames(ev, 3)
    assert sum(len(v) for v in picked.values()) == 3 and picked[0][0] == 0 and picked[1][-1] == 2


def test_earlier_answers_are_not_shown_to_copy() -> None:
    from vagent_hf.text import history_text

    turns = [{"question": "What do we bake?", "answer": "We bake bread."}]
    assert history_text(turns) == "Earlier question: What do we bake?\n"


def test_importing_the_plugin_loads_no_model_code() -> None:
    code = "import sys, vagent_hf; print(any(m in sys.modules for m in ('torch', 'transformers')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_models_not_available_offline_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reg = plugins.registry()
    for kind, cid in (
        ("answerer", "hf-text/nobody/no-such-model"),
        ("answerer", "hf-vlm/nobody/no-such-vlm"),
        ("captioner", "hf-vlm/nobody/no-such-vlm"),
    ):
        with pytest.raises(ModelUnavailable) as err:
            reg.create(kind, cid).load()
        msg = str(err.value)
        assert cid.split("/", 1)[1] in msg and "PATH/TO/DIR" in msg, msg


# ---- real SmolLM2 -----------------------------------------------------------------------------


@pytest.mark.slow
def test_smollm2_picks_the_option_quoted_in_the_evidence(smollm2: Any) -> None:
    d = smollm2.answer([Question("Who is the guest on the show?", GUEST, _evidence())])[0]
    _check_mc(d, 4)
    assert d.choice == 2, d
    assert d.text == "C) Marie Curie" and d.used == [1]
    assert d.meta["model"].startswith("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert d.meta["prompt_tokens"] > 20 and d.meta["device"] in ("cpu", "cuda")
    assert d.meta["semantic"] is True and d.meta["mc"] == "cloze"
    # the option-letter path on the same model: a valid distribution (SmolLM2-135M picks
    # letters at chance, which is why it scores the options' texts by default)
    letters = HFTextAnswerer(mc="letters")
    letters.backend = smollm2.backend
    d = letters.answer([Question("Who is the guest on the show?", GUEST, _evidence())])[0]
    _check_mc(d, 4)
    assert d.meta["mc"] == "letters"


@pytest.mark.slow
def test_smollm2_open_question_and_complete(smollm2: Any) -> None:
    q = Question(
        "Who is the guest?",
        evidence=_evidence(),
        history=[{"question": "What show is this?", "answer": "A science talk show."}],
    )
    d = smollm2.answer([q])[0]
    assert d.text.strip() and d.choice is None and d.option_scores is None
    assert d.confidence is not None and 0.0 < d.confidence <= 1.0
    assert 0 < d.meta["new_tokens"] <= 24
    assert all(0 <= i < 3 for i in d.used)
    text = smollm2.complete("Name one colour.", max_new_tokens=8)
    assert isinstance(text, str) and text.strip()


@pytest.mark.slow
def test_smollm2_prompt_stays_under_its_budget(smollm2: Any) -> None:
    small = HFTextAnswerer(max_prompt_tokens=300)
    small.backend = smollm2.backend  # same loaded model, smaller budget
    ev = [
        Evidence(
            "a.mp4",
            1,
            i,
            10.0 * i,
            10.0 * i + 10,
            score=float(i % 7),
            texts=[_span(0, 1, f"line {i} " * 8)],
        )
        for i in range(40)
    ]
    chat, shown = small.messages(Question("What is said?", evidence=ev))
    prompt = small.backend.render(chat)
    assert small.backend.count(prompt) <= 300
    assert 0 < len(shown) < 40 and shown == sorted(shown)
    assert min(ev[i].score for i in shown) >= max(ev[i].score for i in set(range(40)) - set(shown))


@pytest.mark.slow
def test_converted_copy_is_cached_and_reused(
    smollm2: Any, model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = cache.smollm2_dir()
    assert folder.parent == model_cache
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    assert [p.name for p in model_cache.iterdir()] == [folder.name]  # no temporary folder left

    def gone() -> Path:
        raise AssertionError("the GGUF file was read again")

    monkeypatch.setattr(cache, "smollm2_gguf", gone)
    monkeypatch.setattr(cache, "_convert_smollm2", gone)
    again = plugins.registry().create("answerer", "hf-text")
    t0 = time.perf_counter()
    again.load()
    LOAD_TIMES["cached"] = time.perf_counter() - t0
    assert again.complete("Say hi.", max_new_tokens=4)
    print(
        f"SmolLM2 load: from GGUF {LOAD_TIMES['gguf']:.1f} s, cached {LOAD_TIMES['cached']:.1f} s"
    )


# ---- tiny random SmolVLM ----------------------------------------------------------------------


@pytest.mark.slow
def test_tiny_vlm_answers_from_frames_and_says_it_is_random(
    model_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    vlm = plugins.registry().create("answerer", f"hf-vlm/{TINY}")
    assert vlm.wants_frames and vlm.semantic is False
    vlm.max_frames = 4
    with caplog.at_level(logging.WARNING, logger="vagent"):
        vlm.load()
    assert any("not semantic" in r.getMessage() for r in caplog.records if r.name == "vagent")
    ev = _evidence(frames=True)
    mc = vlm.answer([Question("Who is the guest?", GUEST, ev)])[0]
    _check_mc(mc, 4)
    assert mc.meta["semantic"] is False and mc.meta["frames"] == 4
    assert mc.meta["model"] == f"hf-vlm/{TINY}"
    open_q = vlm.answer([Question("What happens?", evidence=ev)])[0]
    assert isinstance(open_q.text, str) and open_q.choice is None
    assert open_q.meta["semantic"] is False and open_q.meta["new_tokens"] > 0
    assert open_q.confidence is None or 0.0 < open_q.confidence <= 1.0


@pytest.mark.slow
def test_tiny_vlm_captioner_gives_one_caption_per_clip(model_cache: Path) -> None:
    cap = plugins.registry().create("captioner", f"hf-vlm/{TINY}")
    assert cap.semantic is False
    rng = np.random.default_rng(1)
    clips = [rng.integers(0, 256, (n, 72, 96, 3), dtype=np.uint8) for n in (12, 1)]
    out = cap.caption(clips)
    assert len(out) == 2 and all(isinstance(c, str) for c in out)
    assert os.environ["VAGENT_MODEL_CACHE"] == str(model_cache)
