"""vagent kv build / info / prune: stored KV caches of a library's segments (KV-cache reuse)."""

from __future__ import annotations

import sys

import click

from vagent.cli.common import ByteSize, emit_json, guarded, json_option, library_options
from vagent.components import ANSWERER
from vagent.library import Library


@click.group()
def kv() -> None:
    """Stored KV caches: answer from precomputed segment caches instead of re-encoding."""


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GiB"


@kv.command("build")
@library_options
@click.option(
    "--answerer", default=ANSWERER.default, show_default=True, help="Answerer to prefill for."
)
@click.option(
    "--mode",
    type=click.Choice(["stream", "independent"]),
    default="stream",
    show_default=True,
    help="stream: each video's segments in order, each seeing the ones before (a window); "
    "independent: each segment alone.",
)
@click.option("--device", help="cpu or cuda (default: cuda when present).")
@json_option
@guarded
def build(
    library: str, db: str | None, answerer: str, mode: str, device: str | None, as_json: bool
) -> None:
    """Prefill and store the KV cache of every segment that lacks one (resumable, incremental)."""
    from vagent.kv.build import build_caches

    lib = Library.open(library, db=db)
    progress = not as_json and sys.stderr.isatty()
    r = build_caches(lib, answerer, mode, progress, device=device)
    if as_json:
        emit_json(r)
        return
    click.echo(
        f"{r['library']}: built {r['built']} segment caches ({r['tokens']:,} tokens, "
        f"{_size(r['bytes'])}), {r['already_cached']} already cached, of {r['segments']} "
        f"segments in {r['videos']} video{'' if r['videos'] == 1 else 's'}; {r['seconds']:.1f} s"
    )
    click.echo(f"model     {r['model']}  {r['dtype']}, {r['prefill']}")
    click.echo(f"key       {r['fingerprint']}")


@kv.command("info")
@library_options
@click.option(
    "--verify",
    is_flag=True,
    help="Hash every cache file (default: only files changed since they were built).",
)
@json_option
@guarded
def info(library: str, db: str | None, verify: bool, as_json: bool) -> None:
    """Segments cached, bytes, model, dtype and fingerprint of the stored caches; damaged ones."""
    from vagent.kv.maintain import kv_info

    r = kv_info(Library.open(library, db=db), verify=verify)
    if as_json:
        emit_json(r)
        return
    click.echo(
        f"{r['library']}: {r['segments_cached']} of {r['segments']} segments cached, "
        f"{r['tokens']:,} tokens, {_size(r['bytes'])}"
    )
    for f in r["fingerprints"]:
        click.echo(
            f"  {f['fingerprint']}  {f['model']}  {f['dtype']}  {f['segments']} segments, "
            f"{_size(f['bytes'])}, made {f['oldest'][:19]} .. {f['newest'][:19]}"
        )
    for d in r["damaged"]:
        click.echo(
            f"damaged   {d['where'] or d['file']} (segment {d['segment']}): {d['why']}; "
            f"`vagent kv build --library {library}` remakes it"
        )
    o = r["orphans"]
    if o["files"]:
        click.echo(
            f"orphans   {o['files']} files ({_size(o['bytes'])}): `vagent kv prune` drops them"
        )


@kv.command("prune")
@library_options
@click.option(
    "--max-bytes",
    type=ByteSize(),
    required=True,
    help="Budget for the stored caches: 50G, 512M, ... (at most 1024T).",
)
@json_option
@guarded
def prune(library: str, db: str | None, max_bytes: int, as_json: bool) -> None:
    """Drop the least recently created caches over the budget, and orphan files."""
    from vagent.kv.maintain import prune as prune_caches

    r = prune_caches(Library.open(library, db=db), max_bytes)
    if as_json:
        emit_json(r)
        return
    click.echo(
        f"{r['library']}: dropped {r['dropped']} caches ({_size(r['dropped_bytes'])}), kept "
        f"{r['kept']} ({_size(r['kept_bytes'])}); {r['orphans_dropped']} orphan files deleted"
    )
