"""The notebook in workflows/ runs top to bottom: index, ask with citations, follow up."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO, TINY_CLIP

NOTEBOOK = REPO / "workflows" / "ask.ipynb"


def _text(cell: nbformat.NotebookNode) -> str:
    out = []
    for o in cell.get("outputs", []):
        if o.get("name") == "stderr":
            continue  # warnings (random-weight encoder) go there
        out.append(o.get("text", "") or "".join(o.get("data", {}).get("text/plain", "")))
    return "".join(out)


@pytest.mark.slow
def test_notebook_runs_and_answers_with_citations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAGENT_NOTEBOOK_VIDEOS", str(tmp_path / "videos"))
    monkeypatch.setenv("VAGENT_NOTEBOOK_ENCODER", TINY_CLIP)
    (tmp_path / "videos").mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    outputs = [_text(c) for c in code]
    stderr = "".join(o.get("text", "") for c in code for o in c.get("outputs", [])
                     if o.get("name") == "stderr")  # fmt: skip
    assert "Warning" not in stderr and "WARNING" not in stderr, stderr  # e.g. tqdm's IProgress
    assert stderr.count("random-weight encoder") <= 1
    assert "indexed 1, unchanged 0, failed 0" in outputs[2]
    ask, follow, mc = outputs[3], outputs[4], outputs[5]
    assert "standup.mp4" in ask and "subtitle" in ask  # a citation naming the subtitle
    assert "answerer: hf-text" in ask
    assert "standup.mp4" in follow
    assert "'When is the design review?', 'And what was the release date on the slide?'" in follow
    assert mc.split()[0] in {"A", "B", "C"}
    assert "finish" in outputs[6]
    print("\n---\n".join(outputs))
