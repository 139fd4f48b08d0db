"""Naming videos on the command line: a full path, or a file name matched against path ends."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from vagent.catalog import VideoRow
from vagent.errors import VagentError


def match_videos(videos: Sequence[VideoRow], names: Sequence[str], library: str) -> list[int]:
    """Ids of the ``videos`` each of ``names`` picks; a name that picks none is an error."""
    ids = []
    for name in names:
        full = str(Path(name).expanduser().resolve())
        found = [v.id for v in videos if v.path == full or v.path.endswith(os.sep + name)]
        if not found:
            raise VagentError(
                f"no video matching '{name}' in library '{library}'; "
                f"`vagent info --library {library}` lists them"
            )
        ids.extend(found)
    return ids
