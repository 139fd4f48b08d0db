"""Every built-in component runs the contract suite of its kind (classes made from the registry
by ``tests.contracts.builtins``: a new built-in is picked up without an edit)."""

from __future__ import annotations

from tests.contracts.builtins import contract_classes

globals().update(contract_classes())
