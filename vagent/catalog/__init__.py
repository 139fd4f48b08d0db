"""The catalog: libraries, videos, segments and frames in any SQLAlchemy database."""

from vagent.catalog.schema import (
    SCHEMA_VERSION,
    FrameRow,
    LibraryRow,
    SegmentRow,
    TextSpanRow,
    VideoRow,
)
from vagent.catalog.store import Catalog

__all__ = [
    "SCHEMA_VERSION",
    "Catalog",
    "FrameRow",
    "LibraryRow",
    "SegmentRow",
    "TextSpanRow",
    "VideoRow",
]
