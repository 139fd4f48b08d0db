"""Front ends (CLI, demo) quiet other libraries' log lines: our own messages say what failed.
Set VAGENT_DEBUG=1 to see them."""

from __future__ import annotations

import logging
import os


def quiet_third_party() -> None:
    if not os.environ.get("VAGENT_DEBUG"):
        logging.getLogger().setLevel(logging.CRITICAL)
