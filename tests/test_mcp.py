"""`vagent mcp`: the MCP server's tools through the SDK's own client, in memory and over stdio
(`vagent mcp` in a subprocess)."""

from __future__ import annotations

import base64
import io
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import town_clips
from vagent.library import Library
from vagent.serve.mcp_server import create_mcp

ROOT = Path(__file__).resolve().parent.parent
TOOLS = {"search_moments", "ask", "list_videos", "get_frame", "video_info"}


pytestmark = pytest.mark.usefixtures("colour_scripted")


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    d = town_clips(tmp_path / "clips", field=False)
    lib = Library.open(tmp_path / "lib")
    lib.index([d], encoder="colour", text="none", progress=False)
    return lib


def _structured(res: Any) -> Any:
    assert not res.is_error, res.content
    out = res.structured_content
    return out["result"] if isinstance(out, dict) and set(out) == {"result"} else out


def test_tools_in_memory(lib: Library) -> None:
    server, service = create_mcp(lib.root, answerer="scripted")

    async def main() -> None:
        async with Client(server) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names >= TOOLS
            videos = _structured(await client.call_tool("list_videos", {}))
            assert [v["name"] for v in videos] == ["street.mp4"]
            vid = videos[0]["video_id"]
            hits = _structured(await client.call_tool("search_moments", {"query": "blue", "k": 2}))
            assert hits == [h.to_dict() for h in lib.search("blue", k=2)]
            assert all(h["video_id"] == vid for h in hits)
            answer = _structured(
                await client.call_tool("ask", {"question": "Which colour comes after red?"})
            )
            assert answer["answer"] and answer["thread_id"] and "trace" not in answer
            assert all(c["video_id"] == vid for c in answer["citations"])
            frame = await client.call_tool("get_frame", {"video_id": vid, "t": 15})
            assert not frame.is_error
            img = frame.content[0]
            assert img.type == "image" and img.mime_type == "image/jpeg"
            from PIL import Image

            pic = Image.open(io.BytesIO(base64.b64decode(img.data))).convert("RGB")
            red, _, blue = pic.getpixel((pic.width // 2, pic.height // 2))
            assert blue > 150 and red < 100  # 15 s is in the blue half
            info = _structured(await client.call_tool("video_info", {"video_id": vid}))
            assert info["name"] == "street.mp4" and info["duration"] == pytest.approx(20, abs=0.2)
            bad = await client.call_tool("get_frame", {"video_id": 999, "t": 1})
            assert bad.is_error and "no video 999" in bad.content[0].text
            empty = await client.call_tool("search_moments", {"query": " "})
            assert empty.is_error and "empty" in empty.content[0].text

    try:
        anyio.run(main)
    finally:
        service.close()


SERVE_WITH_TEST_PLUGINS = """
import sys
from tests.plugins import colour, scripted
from vagent import plugins
plugins.add_plugin("testcolour", colour)
plugins.add_plugin("testscripted", scripted)
from vagent.cli import main
main(sys.argv[1:])
"""


@pytest.mark.slow  # a subprocess imports vagent (a few seconds)
def test_stdio_list_search_ask_and_frame(lib: Library) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-c", SERVE_WITH_TEST_PLUGINS, "mcp", "-l", str(lib.root), "--answerer", "scripted"],
        cwd=str(ROOT),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )

    async def main() -> None:
        with anyio.fail_after(120):
            async with Client(params) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                assert names >= TOOLS
                hits = _structured(await client.call_tool("search_moments", {"query": "red"}))
                assert hits and hits[0]["video"].endswith("street.mp4")
                ans = _structured(await client.call_tool("ask", {"question": "What is red?"}))
                assert ans["answer"]
                frame = await client.call_tool("get_frame", {"video_id": hits[0]["video_id"]})
                assert frame.content[0].type == "image"

    anyio.run(main)
