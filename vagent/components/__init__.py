"""The plugin contract: one small abstract base class per plugin kind, and the kind table.

Each kind has one abstract batch method at its heart; the rest derive from it or describe it.
Shapes are stated where they are declared. Each kind's base class lives in its own module
(``vagent.components.decoder`` ...); ``vagent.components.kinds`` ties each to its hook and
default. Everything is re-exported here: ``from vagent.components import Decoder, DECODER``.
"""

from __future__ import annotations

from vagent.components.answerer import Answerer, KvAnswerer
from vagent.components.asr import ASR, Utterance, Word
from vagent.components.captioner import Captioner
from vagent.components.decoder import Decoder
from vagent.components.index import VectorIndex
from vagent.components.judge import Judge
from vagent.components.kinds import (
    ANSWERER,
    ASR_KIND,
    CAPTIONER,
    DECODER,
    INDEX,
    JUDGE,
    KINDS,
    KV_STORE,
    OCR_KIND,
    PLANNER,
    SEGMENTER,
    TEXT_ENCODER,
    VISUAL_ENCODER,
    Kind,
    kind_named,
)
from vagent.components.kv_store import KvBatch, KvItem, KvRecord, KvStatus, KVStore, KvUsage
from vagent.components.ocr import OCR
from vagent.components.planner import Planner
from vagent.components.segmenter import Segmenter
from vagent.components.text_encoder import TextEncoder
from vagent.components.visual_encoder import VisualEncoder

__all__ = [
    "ANSWERER",
    "ASR",
    "ASR_KIND",
    "CAPTIONER",
    "DECODER",
    "INDEX",
    "JUDGE",
    "KINDS",
    "KV_STORE",
    "OCR",
    "OCR_KIND",
    "PLANNER",
    "SEGMENTER",
    "TEXT_ENCODER",
    "VISUAL_ENCODER",
    "Answerer",
    "Captioner",
    "Decoder",
    "Judge",
    "KVStore",
    "Kind",
    "KvAnswerer",
    "KvBatch",
    "KvItem",
    "KvRecord",
    "KvStatus",
    "KvUsage",
    "Planner",
    "Segmenter",
    "TextEncoder",
    "Utterance",
    "VectorIndex",
    "VisualEncoder",
    "Word",
    "kind_named",
]
