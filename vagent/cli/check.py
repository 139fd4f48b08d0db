"""vagent check / repair: find and fix damage to a library (catalog, vector files, KV caches,
conversation threads)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from vagent.cli.common import emit_json, guarded, json_option, library_options
from vagent.integrity.check import Report
from vagent.library import Library


def _print(report: Report, verb: str) -> None:
    for line in report.problems:
        click.echo(f"problem: {line}")
    for line in report.actions:
        click.echo(f"done: {line}")
    for line in report.notes:
        click.echo(f"note: {line}")
    checked = ", ".join(report.checked) or "nothing"
    n = len(report.problems)
    done = f", {len(report.actions)} actions" if verb == "repaired" else ""
    click.echo(f"{report.library}: {verb} {checked}; {n} problem{'s' * (n != 1)} found{done}")


def _run(
    library: str, db: str | None, as_json: bool, work: Callable[[Library], Report], verb: str
) -> tuple[Library, Report]:
    """Open the library, run ``work`` on it and show its report (JSON or lines)."""
    lib = Library.open(library, db=db)
    report = work(lib)
    if as_json:
        emit_json(report.to_dict())
    else:
        _print(report, verb)
    return lib, report


@click.command("check")
@library_options
@json_option
@guarded
def check(library: str, db: str | None, as_json: bool) -> None:
    """Look for damage without changing anything: the catalog's integrity, each vector file
    against its checksum and the catalog's rows, KV caches, threads. Exit 1 when something is
    damaged (then run `vagent repair`)."""
    from vagent.integrity.check import check_library

    lib, report = _run(library, db, as_json, check_library, "checked")
    if not as_json and not report.ok:
        from vagent.integrity.owner import repair_hint

        click.echo(f"run `{repair_hint(lib.location)}` to repair it")
    sys.exit(0 if report.ok else 1)


@click.command("repair")
@library_options
@json_option
@guarded
def repair(library: str, db: str | None, as_json: bool) -> None:
    """Repair what `vagent check` finds: rebuild vector files from what can be trusted
    (segment vectors from frame vectors, text vectors from the span texts, videos whose frame
    vectors are lost re-encoded from their files), drop damaged KV caches, save unreadable
    threads aside and drop them. Says what it found and did."""
    from vagent.integrity.repair import repair_library

    _run(library, db, as_json, repair_library, "repaired")
