"""The plugin system: built-ins arrive through entry points, third parties the same way, a broken
plugin is named and skipped, and every hook is specified, documented and used."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import typing
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import REPO, TINY_CLIP
from vagent import hookspecs, plugins
from vagent.cli.plugins_cmd import plugins_cmd
from vagent.components import (
    DECODER,
    INDEX,
    KV_STORE,
    PLANNER,
    SEGMENTER,
    Decoder,
    Kind,
    kinds,
)

ROOT = REPO
BUILTINS = {
    ("decoder", "pyav"),
    ("segmenter", "fixed"),
    ("segmenter", "scene"),
    ("visual_encoder", "openclip"),
    ("index", "faiss"),
}


def test_builtins_register_through_entry_points() -> None:
    reg = plugins.build_registry()
    found = {(r.kind, r.name): r for r in reg.all()}
    assert set(found) >= BUILTINS
    assert {found[b].distribution for b in BUILTINS} == {"vagent"}


def test_every_hook_is_specified_documented_and_mapped() -> None:
    specs = {
        n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("vagent_")
    }
    hooks = [k.hook for k in kinds.KINDS]
    assert len(set(hooks)) == len(hooks) == len({k.name for k in kinds.KINDS})
    assert set(hooks) | {"vagent_register_commands"} == specs
    assert "reranker" not in {k.name for k in kinds.KINDS}  # no base class, no built-in, no caller
    readme = (ROOT / "README.md").read_text()
    for name in specs:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name
        assert name in readme, f"{name} is not documented in README.md"


def test_every_kind_names_its_base_class_and_default() -> None:
    for kind in kinds.KINDS:
        assert isinstance(kind.base, type) and kind.base_name.startswith("vagent.components.")
        assert kinds.kind_named(kind.name) is kind
        assert kind.default is None or kind.default.split("/")[0] in plugins.registry().names(kind)
    assert kinds.JUDGE.default is None  # no judge ships
    with pytest.raises(Exception, match="no plugin kind 'reranker'"):
        kinds.kind_named("reranker")


def test_create_returns_the_kinds_declared_type(tmp_path: Path) -> None:
    reg = plugins.build_registry()
    built = {
        DECODER: reg.create(DECODER, DECODER.default_id),
        SEGMENTER: reg.create(SEGMENTER, SEGMENTER.default_id, seconds=5.0),
        INDEX: reg.create(INDEX, INDEX.default_id, dim=8),
        PLANNER: reg.create(PLANNER, PLANNER.default_id),
        KV_STORE: reg.create(KV_STORE, KV_STORE.default_id, root=tmp_path),
    }
    for kind, obj in built.items():
        assert isinstance(obj, kind.base), kind.name
    assert isinstance(reg.create("decoder", "pyav"), Decoder)  # a kind's name still works
    # the declared type: create(Kind[T], ...) -> T, so callers need no annotation of their own
    overloads = getattr(typing, "get_overloads", lambda f: [])  # Python 3.11+
    hints = [typing.get_type_hints(f, vars(plugins)) for f in overloads(plugins.Registry.create)]
    assert any(h["kind"] == Kind[plugins.T] and h["return"] is plugins.T for h in hints)


def test_a_factory_that_builds_the_wrong_type_is_named() -> None:
    from tests.plugins import liar

    reg = plugins.build_registry([("liar", liar)])
    for kind in (DECODER, "decoder"):
        with pytest.raises(plugins.PluginContractError) as err:
            reg.create(kind, "liar/x")
        msg = str(err.value)
        assert "\n" not in msg
        assert "decoder 'liar/x' from plugin 'liar'" in msg
        assert "distribution (registered in-process) -" in msg
        assert "tests.plugins.liar.LooksLikeADecoder, not a vagent.components.Decoder" in msg
    assert isinstance(reg.create(DECODER, "pyav"), Decoder)  # the others are unaffected


def test_a_new_kind_is_its_table_entry_and_a_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.plugins import widget

    monkeypatch.setattr(kinds, "KINDS", (*kinds.KINDS, widget.WIDGET))
    plugins.add_plugin("widget", widget)
    try:
        reg = plugins.registry()
        assert reg.names("widget") == ["upper"] and reg.names(widget.WIDGET) == ["upper"]
        assert reg.create(widget.WIDGET, "upper/!").turn("a") == "A!"
        out = CliRunner().invoke(plugins_cmd, ["--json"])
        assert out.exit_code == 0, out.output
        listed = json.loads(out.output)
        (entry,) = [k for k in listed["kinds"] if k["kind"] == "widget"]
        assert entry == {
            "kind": "widget",
            "hook": "vagent_register_widgets",
            "base": "tests.plugins.widget.Widget",
            "default": "upper",
            "summary": "widgets",
            "installed": ["upper"],
        }
        assert {"kind": "widget", "name": "upper", "plugin": "widget"}.items() <= next(
            c for c in listed["components"] if c["kind"] == "widget"
        ).items()
    finally:
        plugins.remove_plugin("widget")
    monkeypatch.undo()  # the table without the widget: a registry built from it refuses the kind
    with pytest.raises(Exception, match="widget kind is not in the kind table"):
        plugins.build_registry([("widget", widget)]).create(widget.WIDGET, "upper")


def test_plugins_command_shows_each_kind_with_base_class_and_default() -> None:
    out = CliRunner().invoke(plugins_cmd, [])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    for kind in kinds.KINDS:
        head = f"# {kind.name}: {kind.base_name}, default {kind.default or 'none'}"
        assert any(line.startswith(head) for line in lines), head
    assert "index           faiss        vagent" in out.output
    listed = json.loads(CliRunner().invoke(plugins_cmd, ["--json"]).output)
    assert set(listed) == {"components", "failed_plugins", "kinds"}
    (index,) = [k for k in listed["kinds"] if k["kind"] == "index"]
    assert index["base"] == "vagent.components.VectorIndex" and index["default"] == "faiss/Flat"
    assert "faiss" in index["installed"]


def test_block_and_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAGENT_PLUGINS_BLOCK", "faiss")
    assert "faiss" not in plugins.build_registry().names(INDEX)
    monkeypatch.delenv("VAGENT_PLUGINS_BLOCK")
    monkeypatch.setenv("VAGENT_PLUGINS_ONLY", "pyav")
    reg = plugins.build_registry()
    assert reg.names(DECODER) == ["pyav"] and reg.names(INDEX) == []


def test_broken_plugin_is_named_and_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = tmp_path / "vagent_broken-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: vagent-broken\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[vagent]\nbroken = vagent_broken_missing_module\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg = plugins.build_registry()
    messages = [str(w.message) for w in caught]
    assert any("plugin 'broken' from vagent-broken 1.0 failed to load" in m for m in messages)
    assert {(r.kind, r.name) for r in reg.all()} >= BUILTINS
    assert [p.name for p in reg.plugins if p.error] == ["broken"]


def test_duplicate_names_are_refused() -> None:
    from tests.plugins import colour

    class Again:
        vagent_register_visual_encoders = staticmethod(colour.vagent_register_visual_encoders)

    with pytest.raises(Exception, match="registered twice"):
        plugins.build_registry([("one", colour), ("two", Again())])


def test_unknown_component_lists_what_is_installed() -> None:
    with pytest.raises(Exception, match=r"no index named 'annoy'.*installed: faiss"):
        plugins.build_registry().create(INDEX, "annoy/x", dim=4)


@pytest.mark.slow
def test_external_distribution_installed_for_real(tmp_path: Path, video_dir: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(ROOT / "tests" / "external_plugin"),
        ],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target), "VAGENT_HOME": str(tmp_path / "home")}

    def vagent(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "vagent", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    listed = json.loads(vagent("plugins", "--json"))["components"]
    halves = [c for c in listed if c["name"] == "halves"]
    assert halves == [
        {
            "kind": "segmenter",
            "name": "halves",
            "plugin": "halves",
            "distribution": "vagent-example-halves",
            "version": "0.3.0",
            "description": "two halves per video",
        }
    ]
    vagent(
        "index",
        str(video_dir / "rgb.mp4"),
        "--library",
        "h",
        "--segmenter",
        "halves",
        "--encoder",
        TINY_CLIP,
    )
    info = json.loads(vagent("info", "--library", "h", "--json"))
    assert info["segmenter"] == "halves" and info["segments"] == 2
    hits = json.loads(vagent("search", "anything", "--library", "h", "--json", "--mode", "visual"))
    assert sorted((h["start"], h["end"]) for h in hits) == [(0.0, 15.0), (15.0, 30.0)]
