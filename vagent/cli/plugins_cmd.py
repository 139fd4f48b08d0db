"""vagent plugins: what is installed, from which distribution."""

from __future__ import annotations

import click

from vagent import plugins
from vagent.cli.common import emit_json, json_option


@click.command("plugins")
@json_option
def plugins_cmd(as_json: bool) -> None:
    """Every registered component: kind, name, plugin, distribution, version."""
    reg = plugins.registry()
    rows = [
        {
            "kind": r.kind,
            "name": r.name,
            "plugin": r.plugin,
            "distribution": r.distribution,
            "version": r.version,
            "description": r.description,
        }
        for r in reg.all()
    ]
    broken = [
        {"plugin": p.name, "distribution": p.distribution, "error": p.error}
        for p in reg.plugins
        if p.error
    ]
    if as_json:
        emit_json({"components": rows, "failed_plugins": broken})
        return
    for r in rows:
        click.echo(
            f"{r['kind']:<15} {r['name']:<12} {r['distribution']} {r['version']}"
            f"  ({r['plugin']})  {r['description']}"
        )
    for b in broken:
        click.echo(f"FAILED          {b['plugin']:<12} {b['distribution']}: {b['error']}")
