"""vagent plugins: the plugin kinds, and what is installed for each, from which distribution."""

from __future__ import annotations

import click

from vagent import plugins
from vagent.cli.common import emit_json, json_option


@click.command("plugins")
@json_option
def plugins_cmd(as_json: bool) -> None:
    """Every plugin kind (base class, default) and every registered component: kind, name,
    plugin, distribution, version."""
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
    kinds = [
        {
            "kind": k.name,
            "hook": k.hook,
            "base": k.base_name,
            "default": k.default,
            "summary": k.summary,
            "installed": reg.names(k),
        }
        for k in reg.kinds
    ]
    broken = [
        {"plugin": p.name, "distribution": p.distribution, "error": p.error}
        for p in reg.plugins
        if p.error
    ]
    if as_json:
        emit_json({"components": rows, "failed_plugins": broken, "kinds": kinds})
        return
    for k in kinds:
        default = k["default"] or "none"
        click.echo(f"# {k['kind']}: {k['base']}, default {default} (hook {k['hook']})")
        for r in rows:
            if r["kind"] == k["kind"]:
                click.echo(
                    f"{r['kind']:<15} {r['name']:<12} {r['distribution']} {r['version']}"
                    f"  ({r['plugin']})  {r['description']}"
                )
        if not k["installed"]:
            click.echo(f"{k['kind']:<15} (none installed)")
    for b in broken:
        click.echo(f"FAILED          {b['plugin']:<12} {b['distribution']}: {b['error']}")
