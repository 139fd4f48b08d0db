"""Errors a user can act on. Each message names the thing and says what to do next."""

from __future__ import annotations


class VagentError(Exception):
    """Base class: the CLI prints ``str(err)`` on one line, without a traceback."""


class BadVideo(VagentError):
    """A file could not be indexed. ``path`` and ``reason`` make the one-line report."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ModelUnavailable(VagentError):
    """Weights could not be loaded (offline, missing file); the message says how to fix it."""


class EncoderMismatch(VagentError):
    """A library is pinned to one embedding space and something else was asked of it."""


class SchemaMismatch(VagentError):
    """The catalog was written by another schema version of vagent."""


class UnknownComponent(VagentError):
    """No plugin registered the requested component name."""


class LibraryNotFound(VagentError):
    """The named library has no catalog yet."""


class LibraryBusy(VagentError):
    """Another process holds the library's write lock."""


class AnswererFailed(VagentError):
    """The answerer raised or ran past its time limit; the message names it and what to try."""


class BadNumber(VagentError, ValueError):
    """A number outside its allowed range (or not a number); the message gives the range."""


class DiskFull(VagentError):
    """The device holding a library ran out of space (or failed a write) mid-command.

    ``report``: what an ``index`` run had landed before it stopped (None if nothing started)."""

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class BadName(VagentError, ValueError):
    """A library name or path that cannot name a folder (too long, a NUL byte, not UTF-8)."""


class VagentWarning(UserWarning):
    """Something a user should see though the work went on (a model with random weights, an
    older generation read, a line of a sidecar dropped). Raised with ``warnings.warn``: Python
    callers filter it like any warning; the CLI prints each as one line, ``label: message``."""

    label = "warning"


class InputSkipped(VagentWarning):
    """An input left out while the rest of the batch went on; the message is ``PATH: REASON``
    (the CLI's line: ``error: PATH: REASON``)."""

    label = "error"
