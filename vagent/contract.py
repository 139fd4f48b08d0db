"""The modules of ``vagent`` a plugin may import: the plugin contract.

A plugin (built in under ``plugins/`` or third-party) imports from ``vagent`` only these
modules; everything else in the core may change without notice. A test parses every module
under ``plugins/`` and holds the built-in plugins to this list. Importing any of these loads
neither torch nor transformers (another test checks ``sys.modules``); model code belongs to the
plugin that owns the model.

An entry ending in ``.*`` also admits the package's submodules.
"""

from __future__ import annotations

CONTRACT: tuple[str, ...] = (
    # what plugins register and implement
    "vagent.hookspecs",  # hookimpl and the hook specifications
    "vagent.plugins",  # the registry: create(KIND, id) for components a plugin builds on
    "vagent.components",  # one base class per kind, the kind table (KINDS, DECODER, ...)
    "vagent.components.*",
    # data and errors that cross the seam
    "vagent.types",  # Evidence, Question, Draft, FrameBatch, VideoInfo, ...
    "vagent.errors",  # VagentError and the errors plugins raise; VagentWarning
    "vagent.choices",  # multiple-choice options: LETTERS, the one option parser
    "vagent.timefmt",  # the one time formatter (clock, hms)
    "vagent.words",  # tokens and STOPWORDS as lexical search reads them
    # KV-cache reuse: the format, fingerprints, errors, the store and encoder contracts
    "vagent.kv",
    "vagent.kv.errors",
    "vagent.kv.packed",
    "vagent.kv.fingerprint",
    "vagent.kv.encoder",
    "vagent.kv.store",
    # for plugins that add commands (vagent_register_commands)
    "vagent.cli.common",  # option types (Bounded, number_list), json_option, guarded
    "vagent.validate",  # Range: the bounds a number option is checked against
)


def allowed(module: str) -> bool:
    """Whether a plugin may import ``module`` (a dotted name inside ``vagent``)."""
    for entry in CONTRACT:
        if entry.endswith(".*"):
            if module.startswith(entry[:-1]):
                return True
        elif module == entry:
            return True
    return False
