"""Evaluation data for ``vagent eval``: question items in JSONL, converters from public benchmarks.

``read_jsonl``/``write_jsonl`` move :class:`EvalItem` lists to and from JSONL; the converters in
:mod:`vagent.evaldata.convert` turn LVBench, Video-MME, EgoSchema, MLVU, LongVideoBench,
CinePile, HourVideo (:mod:`~vagent.evaldata.hourvideo`) and E.T.Bench
(:mod:`~vagent.evaldata.etbench`) annotations into them, with the helpers they share in
:mod:`vagent.evaldata.collect`; :mod:`vagent.evaldata.tables` shapes results as each benchmark
reports them; judges of open answers are the ``judge`` kind (``vagent.components.judge``).
Whatever cannot be read is a :class:`Problem` (file, line, reason), never an exception.
"""

from __future__ import annotations

from vagent.evaldata.answers import LETTERS
from vagent.evaldata.convert import CONVERTERS, convert
from vagent.evaldata.items import (
    BUCKETS,
    EvalItem,
    Problem,
    length_bucket,
    parse_record,
    read_jsonl,
    write_jsonl,
)

__all__ = [
    "BUCKETS",
    "CONVERTERS",
    "LETTERS",
    "EvalItem",
    "Problem",
    "convert",
    "length_bucket",
    "parse_record",
    "read_jsonl",
    "write_jsonl",
]
