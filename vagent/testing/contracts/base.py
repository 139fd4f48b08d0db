"""What every contract suite shares: building the component, failing with a clear line,
skipping with a reason, and a temporary folder per check.

A suite is a class of ``test_*`` methods that take no arguments. Under pytest a subclass named
``Test...`` is collected like any test class (``setup_method``/``teardown_method`` run around
each check); outside pytest ``run_contract`` runs the same methods. Nothing here imports pytest.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

T = TypeVar("T")


class ContractFailure(AssertionError):
    """A component broke its kind's contract; the message names the check and what broke."""


class ContractSkipped(Exception):
    """A check that cannot run here (a missing tool, a random-weight model); says why."""


class Contract(Generic[T]):
    """Base of every suite. Subclasses set ``kind`` and ``base``; authors implement ``make``.

    ``make()`` returns a fresh component. Suites of stateless kinds (models) set
    ``reuse = True``: one component serves all of a class's checks, so weights load once.
    ``self.tmp_path`` is a folder of the check's own, removed after it.
    """

    kind: ClassVar[str] = ""
    base: ClassVar[type[Any]] = object
    reuse: ClassVar[bool] = False
    _outside_pytest: bool = False
    _shared: ClassVar[dict[type[Any], Any]] = {}

    def make(self) -> T:
        raise NotImplementedError(
            f"{type(self).__name__}: define make(self) returning a fresh {self.base.__name__}"
        )

    # ---- pytest's xunit hooks (also called by run_contract) ---------------------------------

    def setup_method(self, method: object = None) -> None:
        self._tmp: Path | None = None

    def teardown_method(self, method: object = None) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
            self._tmp = None

    @classmethod
    def teardown_class(cls) -> None:
        Contract._shared.pop(cls, None)  # the shared component goes with its class's checks

    @property
    def tmp_path(self) -> Path:
        if getattr(self, "_tmp", None) is None:
            self._tmp = Path(tempfile.mkdtemp(prefix=f"vagent-{self.kind}-contract-"))
        assert self._tmp is not None
        return self._tmp

    # ---- helpers for the checks ------------------------------------------------------------

    def component(self) -> T:
        """The component under test: fresh, or the class's shared one when ``reuse``."""
        cls = type(self)
        if self.reuse and cls in Contract._shared:
            got: T = Contract._shared[cls]
            return got
        made = self.make()
        self.expect(
            isinstance(made, self.base),
            f"make() returned {type(made).__name__}, not a {self.base.__name__}",
        )
        if self.reuse:
            Contract._shared[cls] = made
        return made

    def expect(self, ok: object, what: str) -> None:
        """Fail the check with ``what`` (one line naming the component) unless ``ok``."""
        if not ok:
            raise ContractFailure(f"{self.kind} contract ({type(self).__name__}): {what}")

    def raises(self, error: type[BaseException], call: Callable[[], object], what: str) -> Any:
        """Run ``call``; it must raise ``error`` (or a subclass). Return the exception."""
        try:
            call()
        except error as exc:
            return exc
        except Exception as exc:  # the wrong error is a broken contract, said as such
            self.expect(False, f"{what}: raised {type(exc).__name__}: {exc}, not {error.__name__}")
        self.expect(False, f"{what}: raised nothing, expected {error.__name__}")

    def skip(self, reason: str) -> None:
        """Skip this check, saying why: pytest's skip under pytest, else ContractSkipped."""
        if "pytest" in sys.modules and not self._outside_pytest:
            import pytest

            pytest.skip(f"{self.kind} contract: {reason}")
        raise ContractSkipped(reason)

    @classmethod
    def checks(cls) -> list[str]:
        """The names of the suite's checks, in the order they are written."""
        seen: dict[str, None] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if name.startswith("test_") and callable(value):
                    seen[name] = None
        return list(seen)


@dataclass
class Outcome:
    """One check's result: ``status`` is passed, failed or skipped; ``message`` says why."""

    check: str
    status: str
    message: str = ""


@dataclass
class Report:
    """What ``run_contract`` found, check by check."""

    kind: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def lines(self) -> list[str]:
        return [
            f"{o.status:<7} {self.kind} {o.check}" + (f": {o.message}" if o.message else "")
            for o in self.outcomes
        ]

    def raise_for_failures(self) -> None:
        if self.failed:
            raise ContractFailure("\n".join(self.lines()))


def run_suite(suite: type[Contract[Any]], make: Callable[[Path], Any]) -> Report:
    """Run every check of ``suite`` against components built by ``make(tmp_folder)``."""
    bound = type(f"{suite.__name__}Run", (suite,), {"make": lambda self: make(self.tmp_path)})
    report = Report(suite.kind)
    try:
        for name in suite.checks():
            check = bound()
            check._outside_pytest = True
            check.setup_method(None)
            try:
                getattr(check, name)()
                report.outcomes.append(Outcome(name, "passed"))
            except ContractSkipped as exc:
                report.outcomes.append(Outcome(name, "skipped", str(exc)))
            except Exception as exc:
                report.outcomes.append(Outcome(name, "failed", f"{type(exc).__name__}: {exc}"))
            finally:
                check.teardown_method(None)
    finally:
        Contract._shared.pop(bound, None)
    return report
