"""open_clip encoder: real model code at any size, weights from a tag, a file, or (asked for by
name) a fixed random seed. Frames arrive already resized (short side = ``input_size``) by the
decoder; here they are centre-cropped and normalised as tensors, in batches."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from vagent.components import VisualEncoder
from vagent.errors import ModelUnavailable

RANDOM_SEED = 0
CONFIG_DIR = Path(__file__).parent / "model_configs"
_configs_added = False


def _open_clip() -> Any:
    global _configs_added
    import open_clip

    if not _configs_added:
        open_clip.add_model_config(CONFIG_DIR)
        _configs_added = True
    return open_clip


def _model_config(model: str) -> dict[str, Any] | None:
    """The model's config, read from its JSON file without importing open_clip (which imports
    torch and torchvision: seconds) where it is one of ours or one open_clip ships; else from
    open_clip itself (hub and local-dir names)."""
    folders = [CONFIG_DIR]
    spec = importlib.util.find_spec("open_clip")
    if spec is not None and spec.submodule_search_locations:
        folders.append(Path(next(iter(spec.submodule_search_locations))) / "model_configs")
    for folder in folders:
        path = folder / f"{model}.json"
        if path.is_file():
            cfg = json.loads(path.read_text(encoding="utf-8"))
            return dict(cfg.get("model_cfg", cfg))
    found = _open_clip().get_model_config(model)
    return None if found is None else dict(found)


@contextmanager
def _no_root_log() -> Iterator[None]:
    """Drop what open_clip logs on the root logger meanwhile (``logging.warning``, which would
    also install a handler printing every later library's warnings), unless VAGENT_DEBUG."""
    if os.environ.get("VAGENT_DEBUG"):
        yield
        return
    root = logging.getLogger()
    sink, drop = logging.NullHandler(), logging.Filter("\0")  # matches no logger name
    root.addHandler(sink)  # a handler present: logging.warning() adds none of its own
    root.addFilter(drop)  # records logged on the root logger itself are dropped
    try:
        yield
    finally:
        root.removeFilter(drop)
        root.removeHandler(sink)


def _file_fingerprint(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()[:16]


class OpenClipEncoder(VisualEncoder):
    def __init__(self, spec: str, device: str | None = None) -> None:
        model, _, pretrained = spec.partition("/")
        if not pretrained:
            raise ValueError(
                f"openclip: say which weights for '{model}': openclip/{model}/<tag|file|random>"
            )
        cfg = _model_config(model)
        if cfg is None:
            known = ", ".join(_open_clip().list_models()[:8])
            raise ValueError(f"openclip: unknown model '{model}'; known: {known}, ...")
        self.model_name = model
        self.pretrained = pretrained
        self.id = f"openclip/{model}/{pretrained}"
        self.dim = int(cfg["embed_dim"])
        size = cfg["vision_cfg"].get("image_size", 224)
        self.input_size = int(size if isinstance(size, int) else size[0])
        self.semantic = pretrained != "random"
        local = Path(pretrained).expanduser()
        if pretrained == "random":
            space = f"random-seed{RANDOM_SEED}"
        elif local.is_file():
            space = f"sha256:{_file_fingerprint(local)}"
        else:
            space = pretrained
        self.embedding_space = f"openclip/{model}/{space}"
        self._device = device
        self._model: Any = None
        self._tokenizer: Any = None

    # ---- loading ---------------------------------------------------------------------------

    def load(self) -> None:
        if self._model is not None:
            return
        import torch

        oc = _open_clip()
        device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
        if self.pretrained == "random":
            torch.manual_seed(RANDOM_SEED)
            with _no_root_log():  # "No pretrained weights loaded": asked for; the host says so
                model = oc.create_model(self.model_name, pretrained=None)
        else:
            self._fail_fast_if_offline(oc)
            try:
                model = oc.create_model(self.model_name, pretrained=self.pretrained)
            except Exception as exc:
                raise ModelUnavailable(self._unavailable(exc)) from None
        model.eval().to(device)
        self._half = device.startswith("cuda")
        if self._half:
            model.half()
        visual = model.visual
        mean = getattr(visual, "image_mean", None) or (0.48145466, 0.4578275, 0.40821073)
        std = getattr(visual, "image_std", None) or (0.26862954, 0.26130258, 0.27577711)
        dtype = torch.float16 if self._half else torch.float32
        self._mean = torch.tensor(mean, device=device, dtype=dtype).view(1, 3, 1, 1) * 255
        self._std = torch.tensor(std, device=device, dtype=dtype).view(1, 3, 1, 1) * 255
        with _no_root_log():  # it logs (info) on the root logger too
            self._tokenizer = oc.get_tokenizer(self.model_name)
        self._torch_device = device
        self._model = model

    def _fail_fast_if_offline(self, oc: Any) -> None:
        """A hub tag that is not cached and whose host does not resolve would make open_clip
        retry for about a minute before failing; say so at once instead."""
        if Path(self.pretrained).expanduser().is_file():
            return
        cfg = oc.get_pretrained_cfg(self.model_name, self.pretrained) or {}
        hub = str(cfg.get("hf_hub") or "").strip("/")
        if not hub:
            return
        from huggingface_hub import try_to_load_from_cache

        for name in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"):
            if isinstance(try_to_load_from_cache(hub, name), str):
                return
        try:
            socket.getaddrinfo("huggingface.co", 443)
        except OSError as exc:
            raise ModelUnavailable(self._unavailable(exc)) from None

    def _unavailable(self, exc: Exception) -> str:
        first = str(exc).split(". ")[0].splitlines()[0] if str(exc) else ""
        why = f"{type(exc).__name__}: {first}"[:160]
        return (
            f"openclip: cannot load weights '{self.pretrained}' for {self.model_name} ({why}). "
            f"Offline? Download the checkpoint where there is a network and pass it as "
            f"--encoder openclip/{self.model_name}/PATH/TO/open_clip_pytorch_model.bin "
            f"(or use openclip/{self.model_name}/random for a non-semantic throughput test)"
        )

    # ---- encoding --------------------------------------------------------------------------

    def _prepare(self, images: np.ndarray) -> Any:
        """Centre square, resized to the input size, normalised. Cropping before resizing is
        the same as open_clip's resize-short-side-then-crop, without resizing what is cut."""
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(np.ascontiguousarray(images)).to(self._torch_device)
        x = x.permute(0, 3, 1, 2).to(self._mean.dtype)
        h, w = x.shape[-2:]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        x = x[:, :, top : top + side, left : left + side]
        s = self.input_size
        if side != s:  # frames from elsewhere than our decoder, or extreme aspect ratios
            x = F.interpolate(x, size=(s, s), mode="bilinear", antialias=True, align_corners=False)
        return (x - self._mean) / self._std

    def encode_images(self, images: np.ndarray) -> np.ndarray:
        import torch

        self.load()
        if len(images) == 0:
            return np.zeros((0, self.dim), np.float32)
        with torch.inference_mode():
            feats = self._model.encode_image(self._prepare(images))
            feats = torch.nn.functional.normalize(feats.float(), dim=-1)
        return feats.cpu().numpy().astype(np.float32, copy=False)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        self.load()
        tokens = self._tokenizer(list(texts)).to(self._torch_device)
        with torch.inference_mode():
            feats = self._model.encode_text(tokens)
            feats = torch.nn.functional.normalize(feats.float(), dim=-1)
        return feats.cpu().numpy().astype(np.float32, copy=False)
