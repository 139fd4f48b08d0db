"""Front ends (CLI, demo, notebook) quiet other libraries' log lines and warnings: our own
messages say what failed. Set VAGENT_DEBUG=1 to see them."""

from __future__ import annotations

import logging
import os
import warnings

# Warnings raised from modules outside vagent (and its tests): deprecations inside torch or
# transformers, tqdm's notebook notices. A regex matched at the start of the module name.
THIRD_PARTY = r"(?!vagent|tests)"


def debug() -> bool:
    return bool(os.environ.get("VAGENT_DEBUG"))


def quiet_third_party() -> None:
    """Silence other libraries' log records and warnings for this process (not with
    VAGENT_DEBUG). vagent's own warnings (a plugin that failed to load) still show."""
    if debug():
        return
    logging.getLogger().setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", module=THIRD_PARTY)
