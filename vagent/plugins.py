"""The plugin host: builds a pluggy manager from entry points and collects factories by kind.

The core imports no plugin. Built-ins and third-party plugins alike arrive through the
``vagent`` entry-point group; a plugin that fails to import is named in a warning and skipped.
``VAGENT_PLUGINS_BLOCK`` / ``VAGENT_PLUGINS_ONLY`` (comma-separated entry-point names) select them.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import Any, TypeVar, overload

import pluggy

from vagent import hookspecs
from vagent.components import kinds as table
from vagent.components.kinds import KINDS, Kind, kind_named
from vagent.errors import UnknownComponent, VagentError, VagentWarning

T = TypeVar("T")
KindLike = Kind[Any] | str


class PluginContractError(VagentError):
    """A plugin's factory built something that is not an instance of its kind's base class."""


__all__ = [
    "KINDS",
    "Kind",
    "PluginContractError",
    "PluginInfo",
    "Registration",
    "Registry",
    "add_plugin",
    "build_registry",
    "registry",
    "remove_plugin",
    "reset",
]


@dataclass(frozen=True)
class Registration:
    """One factory: which kind, under which name, from which plugin and distribution.

    ``suggest``: for a kind whose default the host picks per machine (the agent's answerer), a
    cheap check that loads no model: ``(component id, why)`` when that component should be
    used here instead of the kind's default, ``(None, why not)`` otherwise.
    """

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    distribution: str
    version: str
    description: str = ""
    suggest: Callable[[], tuple[str | None, str]] | None = None


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str
    version: str
    error: str | None = None


class Registry:
    """Factories by kind and name, plus the pluggy manager they came from."""

    def __init__(self, pm: pluggy.PluginManager, plugins: list[PluginInfo]) -> None:
        self.pm = pm
        self.plugins = plugins
        self._kinds = table.KINDS  # the table as it is now (a test may extend it)
        self._items: dict[str, dict[str, Registration]] = {k.name: {} for k in self._kinds}
        dist_of = {p.name: p for p in plugins}
        for kind in self._kinds:
            for impl in getattr(pm.hook, kind.hook).get_hookimpls():
                info = dist_of.get(impl.plugin_name, PluginInfo(impl.plugin_name, "?", "?"))
                impl.function(register=self._registrar(kind.name, info))

    def _registrar(self, kind: str, info: PluginInfo) -> Callable[..., None]:
        def register(
            name: str,
            factory: Callable[..., Any],
            *,
            description: str = "",
            suggest: Callable[[], tuple[str | None, str]] | None = None,
        ) -> None:
            table = self._items[kind]
            if name in table:
                raise VagentError(
                    f"{kind} '{name}' is registered twice: by plugin '{table[name].plugin}' and "
                    f"by '{info.name}'; block one with VAGENT_PLUGINS_BLOCK={info.name}"
                )
            table[name] = Registration(
                kind, name, factory, info.name, info.distribution, info.version, description,
                suggest,
            )  # fmt: skip

        return register

    @property
    def kinds(self) -> tuple[Kind[Any], ...]:
        """The kinds this registry was built for (the kind table when it was built)."""
        return self._kinds

    def _table(self, kind: KindLike) -> dict[str, Registration]:
        k = kind_named(kind)
        table = self._items.get(k.name)
        if table is None:
            raise VagentError(
                f"the {k.label} kind is not in the kind table this registry was built from"
            )
        return table

    def names(self, kind: KindLike) -> list[str]:
        return sorted(self._table(kind))

    def all(self) -> list[Registration]:
        items = self._items
        return [r for k in self._kinds for r in sorted(items[k.name].values(), key=_by_name)]

    def get(self, kind: KindLike, component_id: str) -> tuple[Registration, str | None]:
        k = kind_named(kind)
        name, _, spec = component_id.partition("/")
        reg = self._table(k).get(name)
        if reg is None:
            known = ", ".join(self.names(k)) or "none"
            raise UnknownComponent(
                f"no {k.label} named '{name}' (from '{component_id}'); "
                f"installed: {known}. See `vagent plugins`."
            )
        return reg, (spec or None)

    @overload
    def create(self, kind: Kind[T], component_id: str, **options: Any) -> T: ...

    @overload
    def create(self, kind: str, component_id: str, **options: Any) -> Any: ...

    def create(self, kind: KindLike, component_id: str, **options: Any) -> Any:
        """Build the component ``component_id`` (``name`` or ``name/spec``) of ``kind``.

        ``kind`` is a ``Kind`` from ``vagent.components.kinds`` (the result is typed as its base
        class) or, for older callers, its name. Raises ``PluginContractError`` when the plugin's
        factory builds something that is not an instance of the kind's base class.
        """
        k = kind_named(kind)
        reg, spec = self.get(k, component_id)
        obj = reg.factory(spec, **options)
        if not isinstance(obj, k.base):
            built = f"{type(obj).__module__}.{type(obj).__qualname__}"
            raise PluginContractError(
                f"{k.label} '{component_id}' from plugin '{reg.plugin}' (distribution "
                f"{reg.distribution} {reg.version}) built a {built}, not a {k.base_name}: the "
                f"plugin breaks the {k.name} contract; block it with "
                f"VAGENT_PLUGINS_BLOCK={reg.plugin}"
            )
        return obj


def _by_name(r: Registration) -> str:
    return r.name


def _split_env(name: str) -> set[str]:
    return {p.strip() for p in os.environ.get(name, "").split(",") if p.strip()}


def build_registry(extra: Iterable[tuple[str, object]] = ()) -> Registry:
    """Build a fresh plugin manager from the ``vagent`` entry points, plus ``extra`` plugins.

    ``extra`` is ``(name, module_or_object)`` pairs registered directly: tests use it for fakes.
    """
    pm = pluggy.PluginManager("vagent")
    pm.add_hookspecs(hookspecs.specs(table.KINDS))
    block, only = _split_env("VAGENT_PLUGINS_BLOCK"), _split_env("VAGENT_PLUGINS_ONLY")
    infos: list[PluginInfo] = []
    seen: set[str] = set()
    for ep in sorted(metadata.entry_points(group="vagent"), key=lambda e: e.name):
        if ep.name in seen or ep.name in block or (only and ep.name not in only):
            continue
        seen.add(ep.name)
        dist = ep.dist.name if ep.dist else "?"
        version = ep.dist.version if ep.dist else "?"
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as exc:  # a broken plugin must never take the host down
            msg = f"{type(exc).__name__}: {exc}"
            warnings.warn(
                f"plugin '{ep.name}' from {dist} {version} failed to load and was "
                f"skipped ({msg}); block it with VAGENT_PLUGINS_BLOCK={ep.name}",
                VagentWarning,
                stacklevel=2,
            )
            infos.append(PluginInfo(ep.name, dist, version, error=msg))
            continue
        infos.append(PluginInfo(ep.name, dist, version))
    for name, obj in extra:
        pm.register(obj, name=name)
        infos.append(PluginInfo(name, "(registered in-process)", "-"))
    return Registry(pm, infos)


_cached: Registry | None = None
_extra: list[tuple[str, object]] = []


def registry() -> Registry:
    """The process-wide registry, built on first use (never at import time)."""
    global _cached
    if _cached is None:
        _cached = build_registry(_extra)
    return _cached


def add_plugin(name: str, obj: object) -> None:
    """Register an in-process plugin (a module or object with hookimpls) and rebuild."""
    _extra.append((name, obj))
    reset()


def remove_plugin(name: str) -> None:
    _extra[:] = [(n, o) for n, o in _extra if n != name]
    reset()


def reset() -> None:
    global _cached
    _cached = None
