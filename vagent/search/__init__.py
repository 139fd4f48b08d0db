"""Search: a query against one library generation.

- ``read``: one consistent generation (catalog snapshot + its vector files; the one before when
  those are damaged);
- ``visual``: the visual channel (segment and frame vectors, rescored by the best frame);
- ``text``: the dense-text and lexical channels over text spans;
- ``fusion``: reciprocal rank fusion of channels;
- ``hybrid``: the modes, default weights and the fused ranking;
- ``hits``: ranked segments and the hits they become.

The vector files themselves (generations, checksums, sweeping) are storage, shared with ingest
and integrity: ``vagent.vectors``. Import the modules (the names of the old one-module
``vagent.search`` resolve lazily), so ``vagent.search.fusion`` costs no catalog or NumPy import.
"""

from __future__ import annotations

import importlib
from typing import Any

# The names ``vagent.search`` held when it was one module, found where they live now (on first
# use, so importing ``vagent.search.fusion`` still loads nothing else).
_MOVED = {
    "read_consistent": "vagent.search.read",
    "search_vectors": "vagent.search.visual",
    "best_frames": "vagent.search.visual",
    "visual_ranking": "vagent.search.visual",
    "to_hits": "vagent.search.hits",
    "Ranked": "vagent.search.hits",
}


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module 'vagent.search' has no attribute '{name}'")
    return getattr(importlib.import_module(_MOVED[name]), name)
