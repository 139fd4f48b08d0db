"""Hook specifications: the whole plugin contract, signatures and docstrings only.

Every registration hook receives ``register``, a callable ``register(name, factory, *,
description="", suggest=None)`` (``suggest``: see ``vagent.plugins.Registration``). Plugins hand
*factories* (usually classes) to it; the host owns names and lookup, so registering is cheap and
heavy imports or weights load only when a factory is called. A component id is ``name`` or
``name/spec``: the host splits on the first ``/`` and calls ``factory(spec, **options)`` where
``spec`` is the rest of the id (``None`` when absent).
Registering a name twice in one kind is an error that names both plugins.

There is one registration hook per plugin kind, generated from the kind table
(``vagent.components.kinds.KINDS``): each is named by its kind's ``hook`` and documented by its
``hook_doc()``, e.g. ``vagent_register_decoders(register)``. ``vagent_register_commands`` is the
one hook that registers no component.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pluggy

from vagent.components.kinds import KINDS, Kind

hookspec = pluggy.HookspecMarker("vagent")
hookimpl = pluggy.HookimplMarker("vagent")

Register = Callable[..., None]


def _spec(kind: Kind[Any]) -> Callable[[Register], None]:
    def spec(register: Register) -> None:
        """Filled in below from the kind."""

    spec.__name__ = spec.__qualname__ = kind.hook
    spec.__doc__ = kind.hook_doc()
    return hookspec(spec)


for _kind in KINDS:
    globals()[_kind.hook] = _spec(_kind)
del _kind


@hookspec
def vagent_register_commands(cli: Any) -> None:
    """Add subcommands to the ``vagent`` click group ``cli`` (``cli.add_command(...)``)."""


def specs(kinds: Iterable[Kind[Any]]) -> type:
    """The hook specifications of ``kinds`` (the table as it is when a registry is built) and
    ``vagent_register_commands``, as a namespace for ``PluginManager.add_hookspecs``."""
    hooks: dict[str, Any] = {k.hook: staticmethod(_spec(k)) for k in kinds}
    hooks["vagent_register_commands"] = staticmethod(vagent_register_commands)
    return type("VagentHookspecs", (), hooks)
