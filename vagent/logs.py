"""How vagent speaks besides its results.

- Something a user must see though the work went on is a ``VagentWarning`` (vagent.errors),
  raised with ``warnings.warn``: Python callers filter or catch it like any warning; it shows as
  one line on stderr (``warning: MESSAGE``; ``error: PATH: REASON`` for a skipped input), the
  CLI's line, in a script as in the CLI (``import vagent`` sets that display, nothing else).
- Chatter goes to ``logging.getLogger(__name__)`` (loggers under ``vagent``; a plugin's under
  ``vagent.plugin.<module>``): silent unless VAGENT_DEBUG=1, which shows it on stderr.
- Front ends (CLI, demo, notebook) quiet other libraries' log lines and warnings: our own
  messages say what failed. VAGENT_DEBUG=1 shows them too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from typing import Protocol, TextIO

from vagent.errors import VagentWarning

# Warnings raised from modules outside vagent (and its tests): deprecations inside torch or
# transformers, tqdm's notebook notices. A regex matched at the start of the module name.
THIRD_PARTY = r"(?!vagent|tests)"
# The logger VAGENT_DEBUG shows, with every logger under it: the core's modules log to their
# ``__name__``; a plugin logs under ``vagent.`` too (e.g. ``vagent.plugin.<its module>``).
OURS = "vagent"


def debug() -> bool:
    return bool(os.environ.get("VAGENT_DEBUG"))


def line_of(message: str, category: type[Warning] = VagentWarning) -> str:
    """The one line the CLI prints for a vagent warning."""
    label = getattr(category, "label", "warning")
    return f"{label}: {message}" if label else message


def quiet_third_party() -> None:
    """Silence other libraries' log records and warnings for this process (not with
    VAGENT_DEBUG). vagent's own warnings (a plugin that failed to load) still show."""
    if debug():
        return
    logging.getLogger().setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", module=THIRD_PARTY)


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (a test may have replaced it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


_HANDLER = _Stderr()
_HANDLER.setFormatter(logging.Formatter("%(name)s: %(message)s"))


def show_as_lines() -> None:
    """Show each VagentWarning as its one line (``warning: MESSAGE``) instead of Python's
    ``file:line: VagentWarning: MESSAGE`` and the source line; other warnings as before. Which
    warnings show (filters, ``-W error``, ``catch_warnings``) is unchanged. Done on ``import
    vagent``; idempotent."""
    if not getattr(warnings.showwarning, "vagent", False):
        warnings.showwarning = _rendering(warnings.showwarning)


def configure() -> None:
    """For a front end (the CLI, the demo, a notebook): quiet other libraries, print every
    VagentWarning (not only its first time at one place) as its one line, and with
    VAGENT_DEBUG=1 show vagent's own log records (every level) on stderr. Idempotent."""
    quiet_third_party()
    warnings.simplefilter("always", VagentWarning)
    show_as_lines()
    if not debug():
        return
    logger = logging.getLogger(OURS)
    logger.setLevel(logging.DEBUG)
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)


class Show(Protocol):
    """The shape of ``warnings.showwarning``."""

    def __call__(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None: ...


def _rendering(shown: Show) -> Show:
    """``warnings.showwarning`` printing a VagentWarning as its one line, others as ``shown``."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, VagentWarning):
            print(line_of(str(message), category), file=file or sys.stderr, flush=True)
        else:
            shown(message, category, filename, lineno, file, line)

    show.vagent = True  # type: ignore[attr-defined]
    return show


@contextlib.contextmanager
def warnings_to_stderr() -> Iterator[None]:
    """Inside: every VagentWarning is printed as its one line on stderr (each time it is
    raised); other warnings show as Python shows them. Not thread-local: meant for a whole
    command (the CLI) or a test (pytest records warnings, so it undoes ``show_as_lines``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", VagentWarning)
        warnings.showwarning = _rendering(warnings.showwarning)
        yield
