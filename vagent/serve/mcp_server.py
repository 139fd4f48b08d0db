"""An MCP server over one library (the official SDK's ``MCPServer``): tools ``search_moments``,
``ask``, ``list_videos``, ``get_frame`` (an image) and ``video_info``; ``vagent mcp`` runs it
over stdio (for an assistant's config) or streamable HTTP with a bearer token."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio.to_thread
from mcp.server.mcpserver import Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from vagent.errors import VagentError
from vagent.library import Library
from vagent.serve.app import MAX_QUERY, MAX_QUESTION
from vagent.serve.service import Service, video_dict
from vagent.validate import clean_text

INSTRUCTIONS = (
    "A library of indexed videos. search_moments finds moments (video, start-end seconds, "
    "video_id); get_frame shows one; ask answers a question with citations; list_videos and "
    "video_info describe the library."
)


def _one_line(exc: BaseException) -> ToolError:
    return ToolError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def build_mcp(service: Service) -> MCPServer:
    """The MCP server whose tools run on ``service`` (models loaded once, shared)."""
    server: MCPServer = MCPServer(name="vagent", instructions=INSTRUCTIONS, log_level="WARNING")

    async def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
        except (VagentError, ValueError) as exc:
            raise _one_line(exc) from None

    @server.tool()
    async def search_moments(
        query: str, k: int = 10, video: str | None = None, mode: str | None = None
    ) -> list[dict[str, Any]]:
        """Find the moments of the library's videos that match `query` (words said, shown or
        seen), best first: video path, video_id, start/end seconds, frame_time, score, channels
        and the matching text. `video`: only that file (name or path); `mode`: visual, text or
        hybrid; `k`: 1-100 hits."""
        if len(query) > MAX_QUERY:
            raise ToolError(f"the query is over {MAX_QUERY} characters")
        if not 1 <= k <= 100:
            raise ToolError(f"k must be a whole number in [1, 100]; got {k}")
        hits = await call(service.search, clean_text(query), k=k, video=video, mode=mode)
        return [h.to_dict() for h in hits]

    @server.tool()
    async def ask(
        question: str, options: list[str] | None = None, thread_id: str | None = None
    ) -> dict[str, Any]:
        """Ask a question about the videos. The answer cites moments (video, start, end,
        video_id); it abstains when the library holds nothing that answers. `options` makes it
        multiple choice; reuse `thread_id` from an answer for follow-up questions."""
        if len(question) > MAX_QUESTION:
            raise ToolError(f"the question is over {MAX_QUESTION} characters")

        def run() -> dict[str, Any]:
            agent = service.agent()
            with service.ask_lock:
                res = agent.ask(clean_text(question), options or None, thread_id=thread_id)
            out: dict[str, Any] = res.to_dict()
            out.pop("trace", None)  # timings and internals: not for the assistant
            ids = {v["path"]: v["video_id"] for v in service.videos()}
            for c in out["citations"]:
                c["video_id"] = ids.get(c["video"])
            return out

        result: dict[str, Any] = await call(run)
        return result

    @server.tool()
    async def list_videos() -> list[dict[str, Any]]:
        """The library's videos: video_id, path, name, duration (s), resolution, missing."""
        videos: list[dict[str, Any]] = await call(service.videos)
        return videos

    @server.tool()
    async def get_frame(video_id: int, t: float = 0.0) -> Image:
        """The frame of video `video_id` at `t` seconds, as a JPEG image."""
        row = await call(service.video, video_id)
        if row is None:
            raise ToolError(f"no video {video_id} in this library (see list_videos)")
        if not Path(row.path).is_file():
            raise ToolError(f"the source file of video {video_id} is missing: {row.path}")
        if not 0.0 <= t <= row.duration + 1.0:
            raise ToolError(f"t must be in [0, {row.duration:.1f}] seconds for this video")
        data = await call(service.frame_jpeg, row, min(t, max(row.duration - 0.05, 0.0)))
        return Image(data=data, format="jpeg")

    @server.tool()
    async def video_info(video_id: int | None = None) -> dict[str, Any]:
        """One video's record (with `video_id`), or the library's settings and contents (encoder,
        text track, counts, videos) without it."""
        if video_id is None:
            info: dict[str, Any] = await call(service.info)
            return info
        row = await call(service.video, video_id)
        if row is None:
            raise ToolError(f"no video {video_id} in this library (see list_videos)")
        return video_dict(row)

    return server


def http_app(server: MCPServer, token: str, host: str = "127.0.0.1") -> Any:
    """The streamable-HTTP ASGI app of ``server`` at ``/mcp``, answering only requests that
    carry ``Authorization: Bearer TOKEN`` (the SDK's DNS-rebinding check stays on loopback)."""
    from vagent.serve.security import BearerOnly

    return BearerOnly(server.streamable_http_app(host=host), token)


def create_mcp(
    library: str | os.PathLike[str] | Library,
    *,
    db: str | None = None,
    answerer: str | None = None,
    planner: str | None = None,
    load: bool = True,
) -> tuple[MCPServer, Service]:
    """An MCP server over ``library`` and the service it runs on (close it when done)."""
    lib = library if isinstance(library, Library) else Library.open(library, db=db)
    lib.settings()  # LibraryNotFound: one line before anything starts
    service = Service(lib, answerer=answerer, planner=planner)
    if load:
        service.load()
    return build_mcp(service), service
