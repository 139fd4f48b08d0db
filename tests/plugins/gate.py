"""Test plugin ``testgate``: the colour encoder (id ``gate``) with a gate a test can hold its
encodes at, to see what else runs meanwhile.

A query with the word ``hold`` in it, and every batch of frames while ``GATE.frames`` is set,
waits at the gate (counted in ``GATE.arrived``) until the test opens it. Registered for one test
at a time, never installed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from tests.plugins.colour import ColourEncoder
from vagent.hookspecs import hookimpl

WAIT = 30.0  # the longest an encode waits at the gate


class Gate:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.arrived = threading.Semaphore(0)
        self.opened = threading.Event()
        self.frames = False

    def wait(self) -> None:
        self.arrived.release()
        if not self.opened.wait(WAIT):
            raise RuntimeError(f"the test's gate stayed shut for {WAIT:g} s")

    def arrivals(self, n: int, timeout: float) -> bool:
        """True when ``n`` encodes arrive within ``timeout`` seconds."""
        return all(self.arrived.acquire(timeout=timeout) for _ in range(n))


GATE = Gate()


class GateEncoder(ColourEncoder):
    def __init__(self, spec: str | None = None) -> None:
        super().__init__(spec)
        self.id = "gate"

    def encode_images(self, images: np.ndarray) -> np.ndarray:
        if GATE.frames:
            GATE.wait()
        return super().encode_images(images)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if any("hold" in t for t in texts):
            GATE.wait()
        return super().encode_texts(texts)


@hookimpl
def vagent_register_visual_encoders(register: Any) -> None:
    register("gate", GateEncoder, description="test: colour vectors behind a gate")
