"""The plugin system: built-ins arrive through entry points, third parties the same way, a broken
plugin is named and skipped, and every hook is specified, documented and used."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tests.conftest import TINY_CLIP
from vagent import hookspecs, plugins

ROOT = Path(__file__).resolve().parents[1]
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
    assert {k.hook for k in plugins.KINDS} | {"vagent_register_commands"} == specs
    readme = (ROOT / "README.md").read_text()
    for name in specs:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name
        assert name in readme, f"{name} is not documented in README.md"


def test_block_and_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAGENT_PLUGINS_BLOCK", "faiss")
    assert "faiss" not in plugins.build_registry().names("index")
    monkeypatch.delenv("VAGENT_PLUGINS_BLOCK")
    monkeypatch.setenv("VAGENT_PLUGINS_ONLY", "pyav")
    reg = plugins.build_registry()
    assert reg.names("decoder") == ["pyav"] and reg.names("index") == []


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
        plugins.build_registry().create("index", "annoy/x", dim=4)


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
