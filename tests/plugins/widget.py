"""Test plugin ``widget``: a plugin kind the host has never heard of (its base class, its table
entry and one implementation), to show that a kind is its table entry plus a plugin."""

# The entry names an abstract class where mypy wants a concrete one (see vagent.components.kinds)
# mypy: disable-error-code="type-abstract"

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from vagent.components.kinds import Kind
from vagent.hookspecs import hookimpl


class Widget(ABC):
    """The new kind's base class: turns a word into another."""

    @abstractmethod
    def turn(self, word: str) -> str:
        """``word`` turned."""


WIDGET: Kind[Widget] = Kind(
    "widget", "vagent_register_widgets", Widget, "upper", "widgets", "factory(spec)"
)


class Upper(Widget):
    def __init__(self, spec: str | None) -> None:
        self.spec = spec

    def turn(self, word: str) -> str:
        return word.upper() + (self.spec or "")


@hookimpl
def vagent_register_widgets(register: Any) -> None:
    register("upper", Upper, description="test: upper-cases a word")
