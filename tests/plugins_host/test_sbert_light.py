"""The light (torch-free) MiniLM encoder: its vectorised erf and BLAS threads left alone."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import numpy as np
import pytest

DIM, HEADS, LAYERS, INTER, VOCAB = 16, 2, 2, 32, 12
WORDS = ("[UNK]", "[CLS]", "[SEP]", "a", "red", "car", "on", "the", "road", "blue", "sky")


def _old_erf(x: np.ndarray) -> np.ndarray:
    """The per-element math.erf the light encoder used before."""
    return np.asarray(np.frompyfunc(math.erf, 1, 1)(x), np.float32)


def _tiny_bert(folder: Path) -> Path:
    """A random 2-layer BERT sentence-model folder of the shape LightBert takes."""
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, models, pre_tokenizers

    rng = np.random.default_rng(7)
    w: dict[str, np.ndarray] = {}

    def put(name: str, *shape: int) -> None:
        w[name] = (rng.standard_normal(shape) * 0.5).astype(np.float32)

    put("embeddings.word_embeddings.weight", VOCAB, DIM)
    put("embeddings.position_embeddings.weight", 32, DIM)
    put("embeddings.token_type_embeddings.weight", 2, DIM)
    for i in range(LAYERS):
        L = f"encoder.layer.{i}"
        for m in ("query", "key", "value"):
            put(f"{L}.attention.self.{m}.weight", DIM, DIM)
            put(f"{L}.attention.self.{m}.bias", DIM)
        put(f"{L}.attention.output.dense.weight", DIM, DIM)
        put(f"{L}.attention.output.dense.bias", DIM)
        put(f"{L}.intermediate.dense.weight", INTER, DIM)
        put(f"{L}.intermediate.dense.bias", INTER)
        put(f"{L}.output.dense.weight", DIM, INTER)
        put(f"{L}.output.dense.bias", DIM)
    for ln in ["embeddings"] + [
        f"encoder.layer.{i}.{p}" for i in range(LAYERS) for p in ("attention.output", "output")
    ]:
        w[f"{ln}.LayerNorm.weight"] = np.ones(DIM, np.float32)
        w[f"{ln}.LayerNorm.bias"] = np.zeros(DIM, np.float32)
    folder.mkdir()
    save_file(w, str(folder / "model.safetensors"))
    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(WORDS)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(folder / "tokenizer.json"))
    config = {
        "model_type": "bert",
        "hidden_act": "gelu",
        "hidden_size": DIM,
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "max_position_embeddings": 32,
    }
    (folder / "config.json").write_text(json.dumps(config))
    modules = [
        {"path": "", "type": "sentence_transformers.models.Transformer"},
        {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir()
    pooling = {"word_embedding_dimension": DIM, "pooling_mode_mean_tokens": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    return folder


def test_light_erf_matches_the_per_element_values() -> None:
    from vagent_sbert.light import erf

    x = np.linspace(-12.0, 12.0, 200_001).astype(np.float32)
    new = erf(x).astype(np.float32)
    assert np.abs(new - _old_erf(x)).max() < 1e-6
    gelu_new, gelu_old = 0.5 * x * (1.0 + new), 0.5 * x * (1.0 + _old_erf(x))
    assert np.abs(gelu_new - gelu_old).max() < 1e-6
    assert np.abs(erf(np.zeros(3))).max() < 1e-8 and erf(np.array([-30.0, 30.0])).tolist() == [
        -1,
        1,
    ]


def test_light_bert_vectors_as_before_and_blas_threads_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from vagent_sbert import light

    model = light.LightBert.open(_tiny_bert(tmp_path / "bert"))
    assert model is not None
    texts = ["a red car on the road", "blue sky over the car", "sky"]
    seen: list[list[int]] = []
    one = model._one

    def watched(text: str) -> np.ndarray:  # BLAS threads as a query runs
        seen.append([i["num_threads"] for i in threadpoolctl.threadpool_info()])
        return one(text)

    before = [i["num_threads"] for i in threadpoolctl.threadpool_info()]
    monkeypatch.setattr(model, "_one", watched)
    got = model.encode(texts)
    assert seen == [before] * len(texts)  # no per-call limit (it was 1 inside before)
    monkeypatch.setattr(light, "erf", _old_erf)  # the old arithmetic, element by element
    want = model.encode(texts)
    assert got.shape == (3, DIM) and got.dtype == np.float32
    assert np.abs(got - want).max() < 1e-6
    # concurrent queries (vagent serve's threads) leave the process's BLAS threads as they were
    pool = [threading.Thread(target=model.encode, args=(texts,)) for _ in range(4)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert [i["num_threads"] for i in threadpoolctl.threadpool_info()] == before
