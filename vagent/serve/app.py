"""The HTTP API (FastAPI): ``create_app(library)`` gives an ASGI app; ``vagent serve`` runs it.

Routes: ``GET /api/search``, ``POST /api/ask``, ``POST /api/ask/stream`` (server-sent events),
``GET /api/threads/{id}``, ``GET /api/info``, ``GET /api/videos``,
``GET /api/videos/{id}/frame?t=``, ``GET /api/videos/{id}/media`` (range requests), and the web
page at ``/``. Errors are ``{"error": "one line"}``; videos are served by catalog id only.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from vagent.errors import LibraryNotFound, VagentError
from vagent.library import Library
from vagent.serve.jobs import IndexJobs, JobRefused
from vagent.serve.limits import BodyLimit
from vagent.serve.media import Unsatisfiable, content_type, parse_range, read_bytes
from vagent.serve.security import is_loopback, token_matches
from vagent.serve.service import SEARCH_WORKERS, Busy, Service
from vagent.validate import clean_text

MAX_BODY = 64 * 1024  # bytes of a request body
MAX_QUERY = 1000  # characters of a search query
MAX_QUESTION = 4000
RETRY_AFTER = 5  # seconds a client told "busy" waits
STATIC = Path(__file__).parent / "static"
_ID = re.compile(r"^[0-9]{1,18}$")
COOKIE = "vagent_token"


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


class IndexBody(BaseModel):
    paths: list[str] = Field(min_length=1, max_length=100)


class AskBody(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION)
    options: list[str] | None = Field(default=None, max_length=26)
    thread_id: str | None = Field(default=None, max_length=128)
    videos: list[str] | None = Field(default=None, max_length=100)
    guess: bool = False


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class Guard:
    """ASGI middleware: the token rule for ``/api`` (when the server has a token) and a bound
    on the URL's length. Plain ASGI, not ``BaseHTTPMiddleware``: that one runs every request
    through a task group and memory streams (about a tenth of the event loop's busy time in a
    profile of 8 clients searching)."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = self.refuse(Request(scope))
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refuse(self, request: Request) -> Response | None:
        if self.token is not None and request.url.path.startswith("/api"):
            auth = request.headers.get("authorization", "")
            given = auth[7:] if auth[:7].lower() == "bearer " else request.cookies.get(COOKIE)
            if not token_matches(self.token, given):
                return _error(401, "a bearer token is required (Authorization: Bearer TOKEN)")
        if len(str(request.url)) > 8192:
            return _error(414, "the URL is over 8192 characters")
        return None


def create_app(
    library: str | os.PathLike[str] | Library,
    *,
    db: str | None = None,
    token: str | None = None,
    cors: str | None = None,
    answerer: str | None = None,
    planner: str | None = None,
    ask_workers: int = 1,
    ask_queue: int = 4,
    search_workers: int = SEARCH_WORKERS,
    search_processes: int = 0,
    load: bool = True,
    load_agent: bool = False,
    on_ready: Callable[[str], None] | None = None,
    on_stop: Callable[[str], None] | None = None,
    allow_index: Sequence[str | os.PathLike[str]] | None = None,
    on_index: Callable[[str], None] | None = None,
) -> FastAPI:
    """An ASGI app over ``library``. ``token``: every request but the page's static files must
    carry ``Authorization: Bearer TOKEN`` (or the cookie the page sets from ``/?token=``).
    ``cors``: the one origin allowed cross-origin requests (off by default). ``load``: load the
    query encoders before serving (``load_agent``: the answerer too). ``search_workers``:
    searches run at once (more wait in a bounded queue, then 503); ``search_processes``: run
    them in that many reader processes instead of threads. ``allow_index``: folders
    whose files ``POST /api/index`` may index in the background, asked from this machine only
    (off without it); ``on_index`` hears its progress lines."""
    lib = library if isinstance(library, Library) else Library.open(library, db=db)
    lib.settings()  # no such library: LibraryNotFound now, one line, before anything listens
    svc = Service(
        lib,
        answerer=answerer,
        planner=planner,
        ask_workers=ask_workers,
        ask_queue=ask_queue,
        search_workers=max(search_workers, search_processes),
        search_processes=search_processes,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if load:
            await asyncio.to_thread(svc.load, load_agent)
        if on_ready is not None:
            on_ready("models loaded")
        yield
        if jobs is not None:  # the file being indexed lands first (bounded wait)
            await asyncio.to_thread(jobs.close)
        svc.close()
        if on_stop is not None:
            on_stop("stopped")

    jobs = IndexJobs(lib.root, db, allow_index, on_index) if allow_index else None
    app = FastAPI(title="vagent", lifespan=lifespan)
    app.state.service = svc
    if cors:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[cors],
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Range"],
        )

    app.add_middleware(Guard, token=token)
    app.add_middleware(BodyLimit, limit=MAX_BODY)  # outermost: before any other work

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _error(422, f"{where}: {first.get('msg', 'invalid')}" if where else "invalid")

    @app.exception_handler(LibraryNotFound)
    async def no_library(request: Request, exc: LibraryNotFound) -> JSONResponse:
        return _error(404, str(exc).splitlines()[0])

    @app.exception_handler(VagentError)
    async def vagent_error(request: Request, exc: VagentError) -> JSONResponse:
        return _error(400, str(exc).splitlines()[0])

    @app.exception_handler(ValueError)
    async def value_error(request: Request, exc: ValueError) -> JSONResponse:
        return _error(400, str(exc).splitlines()[0])

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        return _error(500, f"internal error ({type(exc).__name__}); see the server's log")

    # ---- page -------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def page(
        token_q: Annotated[str | None, Query(alias="token", max_length=512)] = None,
    ) -> Response:
        index = STATIC / "index.html"
        if not index.is_file():
            return _error(404, "the web page is not installed")
        resp: Response = FileResponse(index, media_type="text/html")
        if token is not None and token_q is not None and token_matches(token, token_q):
            resp.set_cookie(COOKIE, token_q, httponly=True, samesite="strict")
        return resp

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        files = {p.name: p for p in STATIC.iterdir()} if STATIC.is_dir() else {}
        if name not in files:  # only the files shipped there, by exact name
            raise ApiError(404, "no such file")
        kind = "text/javascript" if name.endswith(".js") else content_type(files[name])
        return FileResponse(files[name], media_type=kind)

    # ---- API --------------------------------------------------------------------------------

    @app.get("/api/search", response_model=list[dict[str, Any]])
    async def search(
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY)],
        k: Annotated[int, Query(ge=1, le=1000)] = 10,
        video: Annotated[list[str] | None, Query(max_length=100)] = None,
        mode: Annotated[str | None, Query(pattern="^(visual|text|hybrid)$")] = None,
    ) -> Response:
        """The same hits as ``vagent search --json``. Searches run side by side on the search
        workers (``search_workers``), not on the threads that serve files and frames."""
        try:
            fut = svc.submit_search(clean_text(q), k=k, video=video or None, mode=mode)
        except Busy:
            raise ApiError(
                503, "every search worker is busy; try again shortly", {"Retry-After": "1"}
            ) from None
        return JSONResponse(await asyncio.wrap_future(fut))

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        return svc.info()

    @app.get("/api/videos")
    def videos() -> list[dict[str, Any]]:
        return svc.videos()

    def _video(video_id: str) -> Any:
        v = svc.video(int(video_id)) if _ID.match(video_id) else None
        if v is None:
            raise ApiError(404, f"no video {video_id[:40]!r} in this library")
        if not Path(v.path).is_file():
            raise ApiError(404, f"the source file of video {v.id} is missing: {Path(v.path).name}")
        return v

    @app.get("/api/videos/{video_id}/frame")
    def frame(video_id: str, t: Annotated[float, Query(ge=0.0, le=1e7)] = 0.0) -> Response:
        v = _video(video_id)
        data = svc.frame_jpeg(v, min(t, max(v.duration - 0.05, 0.0)))
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    @app.api_route("/api/videos/{video_id}/media", methods=["GET", "HEAD"])
    def media(video_id: str, request: Request) -> Response:
        v = _video(video_id)
        path = Path(v.path)
        size = path.stat().st_size
        kind = content_type(path)
        base = {"Accept-Ranges": "bytes", "Content-Type": kind}
        try:
            span = parse_range(request.headers.get("range"), size)
        except Unsatisfiable:
            raise ApiError(
                416, f"range not satisfiable: the file has {size} bytes",
                {"Content-Range": f"bytes */{size}"},
            ) from None  # fmt: skip
        first, last = span if span is not None else (0, size - 1)
        headers = {**base, "Content-Length": str(last - first + 1)}
        status = 200
        if span is not None:
            status = 206
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        if request.method == "HEAD" or size == 0:
            return Response(b"", status_code=status, headers=headers)
        return StreamingResponse(
            read_bytes(path, first, last), status_code=status, headers=headers, media_type=kind
        )

    def _busy() -> ApiError:
        return ApiError(
            503, "every ask worker is busy; try again shortly", {"Retry-After": str(RETRY_AFTER)}
        )

    def _asker(body: AskBody) -> Callable[[Any], dict[str, Any]]:
        def run(agent: Any) -> dict[str, Any]:
            res = agent.ask(
                clean_text(body.question),
                [clean_text(o) for o in body.options] if body.options else None,
                thread_id=body.thread_id,
                videos=body.videos or None,
                guess=body.guess,
            )
            out: dict[str, Any] = res.to_dict()
            ids = {v["path"]: v["video_id"] for v in svc.videos()}
            for c in out["citations"]:
                c["video_id"] = ids.get(c["video"])
            return out

        return run

    @app.post("/api/ask")
    async def ask(body: AskBody) -> dict[str, Any]:
        """The same JSON as ``vagent ask --json`` (citations also carry ``video_id``)."""
        try:
            fut = svc.submit(_asker(body), lambda *_: None)
        except Busy:
            raise _busy() from None
        result: dict[str, Any] = await asyncio.wrap_future(fut)
        return result

    @app.post("/api/ask/stream")
    async def ask_stream(body: AskBody) -> StreamingResponse:
        """Server-sent events: ``progress`` per agent node, then ``answer`` (or ``error``)."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def progress(name: str, seconds: float, info: dict[str, Any]) -> None:
            brief = {k: v for k, v in info.items() if k in ("queries", "round", "confidence")}
            item = ("progress", {"node": name, "seconds": round(seconds, 3), **brief})
            loop.call_soon_threadsafe(events.put_nowait, item)

        try:
            fut = svc.submit(_asker(body), progress)
        except Busy:
            raise _busy() from None

        def done(f: Any) -> None:
            exc = f.exception()
            if exc is None:
                item = ("answer", f.result())
            else:
                msg = (
                    str(exc).splitlines()[0]
                    if isinstance(exc, (VagentError, ValueError))
                    else (f"internal error ({type(exc).__name__})")
                )
                item = ("error", {"error": msg})
            loop.call_soon_threadsafe(events.put_nowait, item)

        fut.add_done_callback(done)

        async def stream() -> AsyncIterator[bytes]:
            yield b"event: queued\ndata: {}\n\n"
            while True:
                kind, data = await events.get()
                yield f"event: {kind}\ndata: {json.dumps(data, default=str)}\n\n".encode()
                if kind in ("answer", "error"):
                    return

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    @app.get("/api/threads/{thread_id}")
    def thread(thread_id: str) -> dict[str, Any]:
        """The turns of a thread; read beside the asks, never queued behind them."""
        if len(thread_id) > 128:
            raise ApiError(404, "no such thread")
        turns = svc.history(thread_id)
        if not turns:
            raise ApiError(404, f"no thread {thread_id[:40]!r}")
        return {"thread_id": thread_id, "turns": turns}

    # ---- indexing (--allow-index) -----------------------------------------------------------

    def _indexer(request: Request) -> IndexJobs:
        if jobs is None:
            raise ApiError(
                403, "this server does not index; start it with --allow-index DIR to allow it"
            )
        peer = request.client.host if request.client else ""
        host = request.headers.get("host", "")
        if not is_loopback(peer) or not is_loopback(host_name(host)):
            raise ApiError(403, "indexing is allowed only from this machine (127.0.0.1)")
        return jobs

    @app.post("/api/index", status_code=202)
    def index(body: IndexBody, request: Request) -> dict[str, Any]:
        """Index files or folders inside the --allow-index folders in the background (one job
        at a time); its progress at ``GET /api/index``."""
        try:
            return _indexer(request).start(body.paths)
        except JobRefused as exc:
            raise ApiError(exc.status, exc.message) from None

    @app.get("/api/index")
    def index_status(request: Request) -> dict[str, Any]:
        """The last indexing job: state (idle, running, done, failed, stopped), files done of
        files, the file now, what landed and what failed (one line each)."""
        return _indexer(request).status()

    return app


def host_name(host: str) -> str:
    """The name part of a ``Host`` header (``[::1]:8765`` -> ``::1``)."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
