"""The transformers KV engine behind ``hf-text``'s stored caches (KV-cache reuse).

``prefill`` encodes segments through a causal LM once and packs each one's cache
(``packing``), ``splice`` joins stored caches into one transformers cache, ``rope`` moves
cached keys to new positions, ``generate`` appends the question and decodes, ``fingerprint``
pins caches to the model, ``build`` is the model half of `vagent kv build`
(``vagent.kv.encoder.KvEncoder``), ``random_model`` builds random-weight models asked for by
name, and ``bench`` is `vagent bench kv` (``command`` registers it). The core
(``vagent.kv``) keeps the packed format, fingerprints, the store contract and the
orchestration. Importing this package alone loads no model code; its modules import torch.
"""
