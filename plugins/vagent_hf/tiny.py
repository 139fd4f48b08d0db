"""``hf-vlm/tiny-random-smolvlm``: real Idefics3 (SmolVLM) code at toy size, random weights.

Only built when asked for by name. The processor is real and built offline: SmolLM2's tokenizer
(from the converted cache) with the special tokens Idefics3 needs, and an Idefics3 image
processor configured small (64 px, no splitting). Everything it produces is marked not semantic.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

TINY_SMOLVLM = "tiny-random-smolvlm"
CONFIG_FILE = Path(__file__).parent / "model_configs" / f"{TINY_SMOLVLM}.json"


def tiny_config() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CONFIG_FILE.read_text(encoding="utf-8"))
    return data


def build_tiny_processor(cfg: dict[str, Any]) -> Any:
    from transformers import AutoTokenizer, Idefics3ImageProcessor, Idefics3Processor

    from vagent_hf.cache import ensure_smollm2

    tokenizer = AutoTokenizer.from_pretrained(str(ensure_smollm2()))
    n = int(cfg["row_col_tokens"])
    grid = [f"<row_{i + 1}_col_{j + 1}>" for i in range(n) for j in range(n)]
    tokenizer.add_special_tokens({"additional_special_tokens": [*cfg["special_tokens"], *grid]})
    images = Idefics3ImageProcessor(**cfg["image_processor"])
    return Idefics3Processor(
        image_processor=images,
        tokenizer=tokenizer,
        image_seq_len=int(cfg["image_seq_len"]),
        chat_template=cfg["chat_template"],
    )


def build_tiny_smolvlm(dtype: Any) -> tuple[Any, Any]:
    """``(model, processor)``: the same weights every time (seed from the config file)."""
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText

    cfg = tiny_config()
    processor = build_tiny_processor(cfg)
    tok = processor.tokenizer
    model_cfg = copy.deepcopy(cfg["model"])
    model_type = model_cfg.pop("model_type")
    model_cfg["text_config"].update(
        vocab_size=len(tok),
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    config = AutoConfig.for_model(
        model_type, image_token_id=tok.convert_tokens_to_ids("<image>"), **model_cfg
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(cfg["seed"]))
        model = AutoModelForImageTextToText.from_config(config, dtype=dtype)
    return model, processor
