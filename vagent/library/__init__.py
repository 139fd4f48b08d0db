"""The library: one catalog plus vector files, its settings (:class:`LibrarySpec`), the one
place its components are built (:class:`Builder`), and the Python API (:class:`Library`).

Modules: ``spec`` (settings, defaults, catalog row <-> spec), ``build`` (components from a
spec), ``indexing`` (setting up an index run), ``core`` (``Library``), ``matching`` (naming
videos), ``info`` (what ``vagent info`` reports), ``notices`` (random-weight warnings).
"""

from __future__ import annotations

from vagent.library.build import Builder
from vagent.library.core import Library
from vagent.library.spec import DEFAULT_ENCODER, LibrarySpec, PinnedSetting

__all__ = ["DEFAULT_ENCODER", "Builder", "Library", "LibrarySpec", "PinnedSetting"]
