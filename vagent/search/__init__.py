"""Search: a query against one library generation.

- ``query``: one search from the words asked to the hits (``Library.search`` is this over the
  library's ``Reader``): the query checked, the mode chosen, the query encoded, the channels
  run inside one consistent read, the hits built;
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
