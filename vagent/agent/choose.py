"""Which answerer and planner an agent gets when the user names none, and why (for the trace).

The core names no answerer plugin: an answerer registration may carry a ``suggest`` check
(``vagent.plugins.Registration``; ``hf-vlm`` has one: a GPU and its model's weights here),
asked without loading a model; the first that suggests itself is used, else the ``answerer``
kind's default (``vagent.components.ANSWERER``), else the first answerer installed.
"""

from __future__ import annotations

from vagent.components import ANSWERER, PLANNER
from vagent.errors import UnknownComponent
from vagent.plugins import Registry


def default_answerer(reg: Registry) -> tuple[str, str]:
    """(answerer id, the reason it was picked): see the module docstring."""
    names = reg.names(ANSWERER)
    why = []
    offers = [r for r in reg.all() if r.kind == ANSWERER.name and r.suggest is not None]
    for r in offers:
        assert r.suggest is not None
        try:
            picked, reason = r.suggest()
        except Exception as exc:  # a plugin's check must not stop the agent: say why, go on
            picked, reason = None, f"{r.name}: {type(exc).__name__}: {exc}"
        if picked:
            return picked, reason
        why.append(reason)
    default = ANSWERER.default
    if default is not None and default in names:
        return default, ", ".join([*why, f"{default} is the default answerer"])
    if not names:
        raise UnknownComponent("no answerer plugin is installed; `vagent plugins` lists plugins")
    return names[0], "the only answerers installed: " + ", ".join(names)


def default_planner(reg: Registry) -> str:
    """The ``planner`` kind's default (``rules``) where installed, else the first installed.
    Measured (`vagent bench needle --planner`, 0.1 h, 12 needle questions, hf-text): rules
    answered 0.50 and cited 1.00 with a plan p50 of 0 ms; llm answered 0.58 (one question more)
    and cited 1.00 with a plan p50 of 58 s on this shared 2-core CPU (3 s on one thread), its
    added queries mostly fragments of the question. So the LLM plan stays one flag away
    (``--planner llm``), not the default."""
    names = reg.names(PLANNER)
    if PLANNER.default is not None and PLANNER.default in names:
        return PLANNER.default
    if names:
        return names[0]
    raise UnknownComponent("no planner plugin is installed; `vagent plugins` lists plugins")
