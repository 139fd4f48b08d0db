"""The judge contract now lives in ``vagent.components.judge`` (the ``judge`` kind);
re-exported here for older imports."""

from __future__ import annotations

from vagent.components.judge import Judge

__all__ = ["Judge"]
