"""Contract suites for plugin authors: the checks every implementation of a plugin kind must
pass, built-in or third-party (the way langgraph's checkpoint-conformance suite serves any
checkpointer).

With pytest, subclass the kind's suite and say how to build your component::

    from vagent.testing.contracts.segmenter import SegmenterContract

    class TestHalves(SegmenterContract):
        def make(self):
            return Halves()

Without it, ``run_contract("segmenter", lambda tmp: Halves()).raise_for_failures()``; the
factory gets a fresh temporary folder (stores keep their files there; others ignore it).

Importing this package loads neither pytest nor a model library; a suite's module loads what
its kind needs (the KV store suite loads torch).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vagent.testing.contracts.base import Contract, ContractFailure, Report, run_suite

# kind name -> "module:class" of its suite (imported when asked for)
SUITES: dict[str, str] = {
    "decoder": "vagent.testing.contracts.decoder:DecoderContract",
    "segmenter": "vagent.testing.contracts.segmenter:SegmenterContract",
    "visual_encoder": "vagent.testing.contracts.encoders:VisualEncoderContract",
    "text_encoder": "vagent.testing.contracts.encoders:TextEncoderContract",
    "captioner": "vagent.testing.contracts.captioner:CaptionerContract",
    "ocr": "vagent.testing.contracts.ocr:OCRContract",
    "asr": "vagent.testing.contracts.asr:ASRContract",
    "index": "vagent.testing.contracts.index:IndexContract",
    "planner": "vagent.testing.contracts.planner:PlannerContract",
    "answerer": "vagent.testing.contracts.answerer:AnswererContract",
    "kv_store": "vagent.testing.contracts.kv_store:KVStoreContract",
    "judge": "vagent.testing.contracts.judge:JudgeContract",
}


def _kind_name(kind: Any) -> str:
    return kind if isinstance(kind, str) else str(kind.name)


def suite_for(kind: Any) -> type[Contract[Any]]:
    """The contract suite of ``kind`` (a kind name or a kind entry with a ``name``)."""
    name = _kind_name(kind)
    if name not in SUITES:
        known = ", ".join(sorted(SUITES))
        raise KeyError(f"no contract suite for plugin kind '{name}' (suites: {known})")
    module, _, attr = SUITES[name].partition(":")
    suite: type[Contract[Any]] = getattr(importlib.import_module(module), attr)
    return suite


def run_contract(kind: Any, factory: Callable[[Path], Any]) -> Report:
    """Run ``kind``'s suite against components built by ``factory(tmp_folder)``."""
    return run_suite(suite_for(kind), factory)


__all__ = ["SUITES", "Contract", "ContractFailure", "Report", "run_contract", "suite_for"]
