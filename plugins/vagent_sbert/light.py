"""A few texts through a BERT sentence model in NumPy: a search query without importing torch,
transformers or sentence-transformers (seconds of a cold ``vagent search``).

Only for the plain shape (``BertModel`` behind mean pooling and normalisation, as
all-MiniLM-L6-v2): ``LightBert.open`` returns None for anything else, and the caller uses
sentence-transformers. Same weights, same tokenizer (``tokenizer.json`` via ``tokenizers``),
same arithmetic in float32: vectors agree with sentence-transformers' to about 1e-6.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

POOLING = {
    "pooling_mode_mean_tokens": True,
    "pooling_mode_cls_token": False,
    "pooling_mode_max_tokens": False,
    "pooling_mode_mean_sqrt_len_tokens": False,
}
ROWS = 16  # dense products are done on blocks of this many token rows (see LightBert._dense)
# erf as a rational approximation (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7), whole
# arrays at once in float64: no per-element Python call holding the GIL, no scipy or torch.
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function of each element of ``x`` (float64 out), to within 1.5e-7."""
    z = np.asarray(x, np.float64)
    a = np.abs(z)
    t = 1.0 / (1.0 + _ERF_P * a)
    poly = np.zeros_like(t)
    for c in reversed(_ERF_A):
        poly = (poly + c) * t
    return np.copysign(1.0 - poly * np.exp(-a * a), z)


def _plain_bert(folder: Path) -> dict[str, Any] | None:
    """The model's config when ``folder`` holds exactly Transformer -> mean Pooling ->
    Normalize over a BertModel with safetensors weights and a tokenizer.json; else None."""
    try:
        modules = json.loads((folder / "modules.json").read_text())
        config = json.loads((folder / "config.json").read_text())
        types = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pool_dir = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
        pooling = json.loads((folder / pool_dir / "config.json").read_text())
    except (OSError, ValueError, KeyError, StopIteration):
        return None
    if types != ["Transformer", "Pooling", "Normalize"] or config.get("model_type") != "bert":
        return None
    if any(pooling.get(k, False) != v for k, v in POOLING.items()):
        return None
    if config.get("hidden_act") != "gelu" or config.get("position_embedding_type", "absolute") != (
        "absolute"
    ):
        return None
    if not (folder / "model.safetensors").is_file() or not (folder / "tokenizer.json").is_file():
        return None
    return dict(config)


def _mapped(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file as read-only views of one memory map (pages are read
    when touched: a query reads its few rows of the embedding table, not all of it)."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    with path.open("rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        out[name] = data[a:b].view(dtypes[meta["dtype"]]).reshape(meta["shape"])
    return out


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class LightBert:
    """Encodes texts one at a time (no padding) with the weights memory-mapped."""

    def __init__(self, folder: Path, config: dict[str, Any], max_length: int) -> None:
        from tokenizers import Tokenizer

        self.w = _mapped(folder / "model.safetensors")
        self.tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tok.no_padding()
        self.tok.enable_truncation(max_length=max_length)
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.dim = int(config["hidden_size"])

    @classmethod
    def open(cls, folder: str | Path) -> LightBert | None:
        folder = Path(folder)
        config = _plain_bert(folder)
        if config is None:
            return None
        try:
            st = json.loads((folder / "sentence_bert_config.json").read_text())
            max_length = int(st.get("max_seq_length") or 256)
        except (OSError, ValueError):
            max_length = 256
        max_length = min(max_length, int(config.get("max_position_embeddings", 512)))
        try:
            return cls(folder, config, max_length)
        except Exception:  # an unexpected file: the full model will do it
            return None

    def _p(self, name: str) -> np.ndarray:
        return self.w[name]

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        """``x @ W.T + b``, one product per block of ``ROWS`` rows (the last one padded with
        zeros): BLAS takes other paths for other shapes, and a row's last bits follow the path
        (a 3-token query's rows differed from the same rows among 40). With every product of
        one shape, a text's rows are the same alone or together with others
        (``encode_together``)."""
        n = len(x)
        pad = -n % ROWS
        if pad:
            x = np.concatenate([x, np.zeros((pad, x.shape[1]), x.dtype)])
        w = self._p(f"{name}.weight").T
        blocks = [x[i : i + ROWS] @ w for i in range(0, len(x), ROWS)]
        return np.concatenate(blocks)[:n] + self._p(f"{name}.bias")

    def _one(self, text: str) -> np.ndarray:
        return self._many([text])[0]

    def _many(self, texts: list[str]) -> np.ndarray:
        """One pass for all ``texts``: their tokens side by side in one matrix (no padding),
        so every dense layer is one product over all of them; attention per text."""
        seqs = [np.asarray(self.tok.encode(t).ids, dtype=np.int64) for t in texts]
        ends = np.cumsum([len(ids) for ids in seqs]).tolist()
        spans = list(zip([0, *ends[:-1]], ends))
        p = "embeddings"
        x = np.concatenate(
            [
                self._p(f"{p}.word_embeddings.weight")[ids]
                + self._p(f"{p}.position_embeddings.weight")[: len(ids)]
                + self._p(f"{p}.token_type_embeddings.weight")[0]
                for ids in seqs
            ]
        )
        x = _layer_norm(
            x, self._p(f"{p}.LayerNorm.weight"), self._p(f"{p}.LayerNorm.bias"), self.eps
        )
        h, d = self.heads, self.dim // self.heads
        for i in range(self.layers):
            L = f"encoder.layer.{i}"
            qkv = [self._dense(x, f"{L}.attention.self.{m}") for m in ("query", "key", "value")]
            parts = []
            for a, b in spans:
                q, k, v = (t[a:b].reshape(b - a, h, d).transpose(1, 0, 2) for t in qkv)
                s = q @ k.transpose(0, 2, 1) / np.float32(math.sqrt(d))
                s = np.exp(s - s.max(-1, keepdims=True))
                parts.append(
                    ((s / s.sum(-1, keepdims=True)) @ v).transpose(1, 0, 2).reshape(b - a, self.dim)
                )
            ctx = np.concatenate(parts)
            x = _layer_norm(
                self._dense(ctx, f"{L}.attention.output.dense") + x,
                self._p(f"{L}.attention.output.LayerNorm.weight"),
                self._p(f"{L}.attention.output.LayerNorm.bias"),
                self.eps,
            )
            a = self._dense(x, f"{L}.intermediate.dense")
            a = 0.5 * a * (1.0 + erf(a / np.float32(math.sqrt(2.0))).astype(np.float32))
            x = _layer_norm(
                self._dense(a.astype(np.float32), f"{L}.output.dense") + x,
                self._p(f"{L}.output.LayerNorm.weight"),
                self._p(f"{L}.output.LayerNorm.bias"),
                self.eps,
            )
        out = []
        for a, b in spans:
            mean = x[a:b].mean(0)
            out.append((mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32))
        return np.stack(out)

    def encode_together(self, texts: list[str]) -> np.ndarray:
        """As ``encode``, in one pass over the weights for all ``texts`` (a tiny model spends
        most of a pass on per-call work: 8 queries together cost far less than 8 passes)."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return self._many(texts)

    def together_is_exact(self) -> bool:
        """Whether rows encoded together are bit-identical to rows encoded alone here (with
        this BLAS; they were with OpenBLAS 0.3.31), checked on texts of several lengths."""
        probe = ["a", "two words", "a longer query of several words about a red car on a road"]
        alone = np.stack([self._one(t) for t in probe])
        return bool(np.array_equal(self._many(probe), alone)) and bool(
            np.array_equal(self._many(probe[::-1]), alone[::-1])
        )

    def encode(self, texts: list[str]) -> np.ndarray:
        """n strings -> (n, dim) float32, rows L2-normalised. BLAS threads are left as they
        are: a per-call ``threadpool_limits`` cost 1-3 ms a query and, entered and left by
        concurrent searches (``vagent serve``), could leave BLAS on one thread for good."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self._one(t) for t in texts])
