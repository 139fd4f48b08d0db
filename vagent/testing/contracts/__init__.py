"""One contract suite per plugin kind; see ``vagent.testing``."""

from __future__ import annotations

from vagent.testing.contracts.base import (
    Contract,
    ContractFailure,
    ContractSkipped,
    Outcome,
    Report,
    run_suite,
)

__all__ = ["Contract", "ContractFailure", "ContractSkipped", "Outcome", "Report", "run_suite"]
