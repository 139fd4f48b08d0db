"""What a library tells its user while it works on: models with random weights."""

from __future__ import annotations

import warnings

from vagent.catalog import LibraryRow
from vagent.errors import VagentWarning

_warned: set[tuple[str, str]] = set()


def warn_random(row: LibraryRow, hybrid: bool = False) -> None:
    """Say once per process and library that its visual channel has random weights."""
    key = (row.name, row.encoder)  # once per library and process, whichever command comes first
    if key in _warned:
        return
    _warned.add(key)
    extra = "; hybrid search leaves the visual channel out" if hybrid else ""
    warnings.warn(
        f"library '{row.name}' was built with random-weight encoder {row.encoder}: "
        f"its visual results are not semantic (throughput and plumbing tests only){extra}",
        VagentWarning,
        stacklevel=3,
    )


def warn_random_captioner(captioner: str) -> None:
    """Say that a captioner's captions carry no meaning."""
    warnings.warn(
        f"captioner {captioner} has random weights: its captions are not semantic (plumbing "
        f"tests only)",
        VagentWarning,
        stacklevel=3,
    )
