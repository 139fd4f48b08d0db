"""``vagent bench kv``, added to the ``bench`` group by this plugin (``vagent_register_commands``):
the KV engine it measures is this plugin's. Importing this module loads no model code."""

from __future__ import annotations

from typing import Any

import click

from vagent.cli.common import Bounded, emit_json, guarded, json_option, number_list
from vagent.validate import Range

KS = Range("--ks", 1, 1000, integer=True)
TOKENS = Range("--tokens", 1, 32_768, integer=True)
THREADS = Range("--threads", 1, 1024, integer=True)
REPEATS = Range("--repeats", 1, 1000, integer=True)


@click.command("kv")
@click.option(
    "--model",
    default="smollm2-135m",
    show_default=True,
    help="Random-weight model shape: smollm2-135m or llama-tiny (throughput only).",
)
@click.option(
    "--ks",
    default="1,4,16",
    callback=number_list(KS),
    show_default=True,
    help="Segments retrieved per answer.",
)
@click.option(
    "--tokens", type=Bounded(TOKENS), default=128, show_default=True, help="Tokens per segment."
)
@click.option("--dtype", default="bfloat16", show_default=True, help="Stored cache dtype.")
@click.option(
    "--threads", type=Bounded(THREADS), default=1, show_default=True, help="torch CPU threads."
)
@click.option("--repeats", type=Bounded(REPEATS), default=2, show_default=True)
@json_option
@guarded
def kv_bench(
    model: str, ks: list[int], tokens: int, dtype: str, threads: int, repeats: int, as_json: bool
) -> None:
    """Time to first token from stored KV caches versus re-encoding, and bytes per segment."""
    from vagent_hf.kvengine import bench as b

    r = b.run(
        True,
        model=model,
        ks=ks,
        tokens=tokens,
        store_dtype=dtype,
        threads=threads,
        repeats=repeats,
    )
    if as_json:
        emit_json(r)
    else:
        click.echo(b.format_table(r))


def add_commands(cli: Any) -> None:
    """Put ``kv`` into ``cli``'s ``bench`` group (when the host has one)."""
    bench = getattr(cli, "commands", {}).get("bench")
    if isinstance(bench, click.Group):
        bench.add_command(kv_bench)
