"""Naming videos on the command line: a full path, or a file name matched against path ends."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from vagent.catalog import VideoRow
from vagent.errors import VagentError

# How many of an ambiguous name's matches the error line lists.
SHOWN = 5


def match_videos(
    videos: Sequence[VideoRow], names: Sequence[str], library: str, *, unique: bool = False
) -> list[int]:
    """Ids of the ``videos`` each of ``names`` picks; a name that picks none is an error.

    With ``unique`` (what removing asks for) a name must pick one video: a full path that is in
    the library picks it; a file name that ends several paths is refused, listing them."""
    ids: list[int] = []
    for name in names:
        full = str(Path(name).expanduser().resolve())
        named = (full, name)  # a live item's path is its stream URL, as given
        found = [v for v in videos if v.path in named or v.path.endswith(os.sep + name)]
        exact = [v for v in found if v.path in named]
        if unique and exact:
            found = exact
        if not found:
            raise VagentError(
                f"no video matching '{name}' in library '{library}'; "
                f"`vagent info --library {library}` lists them"
            )
        if unique and len(found) > 1:
            listed = ", ".join(v.path for v in found[:SHOWN])
            more = f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
            raise VagentError(
                f"'{name}' matches {len(found)} videos in library '{library}': {listed}{more}; "
                f"name the one to remove by its path (or more of its path, e.g. "
                f"{Path(found[0].path).parent.name}{os.sep}{Path(found[0].path).name})"
            )
        ids.extend(v.id for v in found)
    return ids
