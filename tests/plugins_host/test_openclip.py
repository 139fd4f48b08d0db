"""The open_clip encoder: real model code at tiny size with random weights asked for by name."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from tests.conftest import TINY_CLIP
from vagent import plugins
from vagent.components import VISUAL_ENCODER
from vagent.errors import ModelUnavailable


def _enc(id_: str = TINY_CLIP):  # type: ignore[no-untyped-def]
    return plugins.registry().create(VISUAL_ENCODER, id_)


def test_tiny_random_encoder_shapes_norms_and_determinism() -> None:
    a, b = _enc(), _enc()
    assert (a.dim, a.input_size, a.semantic) == (64, 64, False)
    assert a.embedding_space == "openclip/vagent-tiny-vit/random-seed0"
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (3, 64, 85, 3), dtype=np.uint8)
    va, vb = a.encode_images(images), b.encode_images(images)
    assert va.shape == (3, 64) and va.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(va, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(va, vb, atol=1e-6)  # same seed, same space: libraries reopen
    t = a.encode_texts(["a red car", "a whiteboard"])
    assert t.shape == (2, 64) and not np.allclose(t[0], t[1])


def test_frames_of_other_sizes_are_resized_and_cropped() -> None:
    enc = _enc()
    big = np.zeros((2, 300, 500, 3), np.uint8)
    big[:, :, 250:] = 255
    small = np.zeros((1, 64, 64, 3), np.uint8)
    assert enc.encode_images(big).shape == (2, 64)
    assert enc.encode_images(small).shape == (1, 64)
    assert enc.encode_images(np.zeros((0, 64, 64, 3), np.uint8)).shape == (0, 64)


def test_bad_ids() -> None:
    with pytest.raises(ValueError, match="say which weights"):
        _enc("openclip/ViT-B-32")
    with pytest.raises(ValueError, match="unknown model 'NoSuchNet'"):
        _enc("openclip/NoSuchNet/random")


def test_local_checkpoint_is_loaded_and_fingerprinted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import torch

    model = _enc()
    model.load()
    path = tmp_path / "tiny.pt"
    torch.save(model._model.state_dict(), path)
    local = _enc(f"openclip/vagent-tiny-vit/{path}")
    assert local.semantic and local.embedding_space.startswith("openclip/vagent-tiny-vit/sha256:")
    x = np.random.default_rng(1).integers(0, 255, (2, 64, 64, 3), dtype=np.uint8)
    np.testing.assert_allclose(local.encode_images(x), model.encode_images(x), atol=1e-5)


def _offline() -> bool:
    try:
        socket.getaddrinfo("huggingface.co", 443)
        return False
    except OSError:
        return True


@pytest.mark.skipif(not _offline(), reason="a hub is reachable: the real weights would download")
def test_missing_weights_offline_say_how_to_pass_a_file() -> None:
    enc = _enc("openclip/ViT-B-32/laion2b_s34b_b79k")
    with pytest.raises(ModelUnavailable) as err:
        enc.load()
    msg = str(err.value)
    assert "ViT-B-32" in msg and "--encoder openclip/ViT-B-32/PATH/TO/" in msg
    assert "\n" not in msg
