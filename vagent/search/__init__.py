"""Search: a query against one library generation.

- ``read``: one consistent generation (catalog snapshot + its vector files; the one before when
  those are damaged);
- ``visual``: the visual channel (segment and frame vectors, rescored by the best frame);
- ``text``: the dense-text and lexical channels over text spans;
- ``fusion``: reciprocal rank fusion of channels;
- ``hybrid``: the modes, default weights and the fused ranking;
- ``hits``: ranked segments and the hits they become.

The vector files themselves (generations, checksums, sweeping) are storage, shared with ingest
and integrity: ``vagent.vectors``. Import the modules: this package re-exports nothing, so
``vagent.search.fusion`` costs no catalog or NumPy import.
"""
