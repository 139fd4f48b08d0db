"""`vagent mcp`: the MCP server's tools through the SDK's own client, in memory and over stdio
(`vagent mcp` in a subprocess)."""

from __future__ import annotations

import base64
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import REPO, free_port, run_vagent, town_clips, uvicorn_thread
from vagent.library import Library
from vagent.serve.mcp_server import create_mcp

ROOT = REPO
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


TOKEN = "mcp-token-for-tests-0123456789"


async def _tools_over_http(url: str, token: str) -> tuple[set[str], Any]:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    auth = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    async with auth, Client(streamable_http_client(url, http_client=auth)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        hits = _structured(await client.call_tool("search_moments", {"query": "blue", "k": 1}))
        return names, hits


def test_http_needs_the_bearer_token(lib: Library) -> None:
    import httpx

    from vagent.serve.mcp_server import http_app

    server, service = create_mcp(lib.root, answerer="scripted")
    try:
        with uvicorn_thread(http_app(server, TOKEN)) as port:
            url = f"http://127.0.0.1:{port}/mcp"
            hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
            for auth in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": TOKEN}):
                r = httpx.post(url, json=hello, headers=auth)
                assert r.status_code == 401, auth
                assert r.json() == {
                    "error": "a bearer token is required (Authorization: Bearer TOKEN)"
                }
                assert r.headers["www-authenticate"] == "Bearer"
            names, hits = anyio.run(_tools_over_http, url, TOKEN)
            assert names >= TOOLS and hits[0]["video"].endswith("street.mp4")
    finally:
        service.close()


def test_http_off_loopback_needs_a_token_of_ones_own(lib: Library) -> None:
    code, _, err = run_vagent("mcp", "-l", str(lib.root), "--http", "--host", "0.0.0.0")
    assert code == 2 and err.count("\n") == 1 and "--token-file" in err
    assert "loading models" not in err  # refused before anything loads or listens


@pytest.mark.slow  # a subprocess imports vagent and the SDK (a few seconds)
def test_vagent_mcp_http_prints_a_new_token_once_and_requires_it(lib: Library) -> None:
    import httpx

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "VAGENT_TOKEN"}
    argv = ["mcp", "-l", str(lib.root), "--http", "--port", str(port), "--answerer", "scripted"]
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE_WITH_TEST_PLUGINS, *argv],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        seen: list[str] = []
        token = None
        deadline = time.monotonic() + 120
        while token is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            assert line, f"vagent mcp exited: {''.join(seen)}"
            seen.append(line)
            m = re.search(r"'Authorization: Bearer (\S+)'", line)
            token = m.group(1) if m else None
        assert token is not None and len(token) >= 32
        url = f"http://127.0.0.1:{port}/mcp"
        for _ in range(100):  # the line comes just before uvicorn listens
            try:
                r = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert r.status_code == 401
        names, _ = anyio.run(_tools_over_http, url, token)
        assert names >= TOOLS
    finally:
        proc.terminate()
        rest = proc.communicate(timeout=20)[1]
    assert ("".join(seen) + rest).count(token) == 1  # printed once, never again
    assert "Traceback" not in rest
