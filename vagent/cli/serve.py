"""``vagent serve``: the HTTP API and the web page over one library (uvicorn)."""

from __future__ import annotations

import time

import click

from vagent.cli.common import Bounded, guarded, library_options
from vagent.validate import Range

PORT = Range("--port", 1, 65535, integer=True)
WORKERS = Range("--ask-workers", 1, 8, integer=True)
READERS = Range("--search-processes", 0, 16, integer=True)


@click.command()
@library_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=Bounded(PORT), default=8765, show_default=True, help="TCP port.")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="A file whose first line is the bearer token (else $VAGENT_TOKEN); required for any "
    "address but loopback.",
)
@click.option("--cors", metavar="ORIGIN", help="Allow cross-origin requests from this origin.")
@click.option("--answerer", help="Answerer id for /api/ask (default as `vagent ask`).")
@click.option("--planner", help="Planner id: rules (default) or llm.")
@click.option(
    "--ask-workers",
    type=Bounded(WORKERS),
    default=1,
    show_default=True,
    help="Questions answered at once, in [1, 8] (4 more wait; then 503).",
)
@click.option(
    "--search-processes",
    type=Bounded(READERS),
    default=0,
    show_default=True,
    help="Run searches in N reader processes, in [0, 16] (0: threads of this process). Each "
    "holds its own copy of the vectors and query models; searches then share no lock.",
)
@click.option(
    "--allow-index",
    "allow_index",
    multiple=True,
    metavar="DIR",
    type=click.Path(exists=True, file_okay=False),
    help="Let POST /api/index index files inside DIR in the background, asked from this "
    "machine only (repeatable; off by default).",
)
@guarded
def serve(
    library: str,
    db: str | None,
    host: str,
    port: int,
    token_file: str | None,
    cors: str | None,
    answerer: str | None,
    planner: str | None,
    ask_workers: int,
    search_processes: int,
    allow_index: tuple[str, ...],
) -> None:
    """Serve a library over HTTP: the API (docs at /docs) and a web page to watch the moments.

    \b
    vagent serve --library lectures
    vagent serve --library lectures --host 0.0.0.0 --token-file ~/.vagent-token
    vagent serve --library lectures --allow-index ~/talks
    """
    from vagent.serve.security import check_bind, load_token

    token = load_token(token_file)
    check_bind(host, token)  # refused before any model loads or any port opens
    import uvicorn

    from vagent.serve import create_app

    t0 = time.perf_counter()

    def ready(_: str) -> None:
        shown = f"[{host}]" if ":" in host else host
        click.echo(
            f"serve: models loaded in {time.perf_counter() - t0:.1f} s; "
            f"http://{shown}:{port}/ (API docs at /docs)",
            err=True,
        )

    app = create_app(
        library, db=db, token=token, cors=cors, answerer=answerer, planner=planner,
        ask_workers=ask_workers, search_processes=search_processes, on_ready=ready,
        on_stop=lambda _: click.echo("serve: stopped", err=True),
        allow_index=list(allow_index), on_index=lambda line: click.echo(line, err=True),
    )  # fmt: skip
    click.echo(f"serve: loading models for library '{library}' ...", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)


@click.command(name="mcp")
@library_options
@click.option("--http", "over_http", is_flag=True, help="Streamable HTTP instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address (--http).")
@click.option("--port", type=Bounded(PORT), default=8766, show_default=True, help="Port (--http).")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="--http: a file whose first line is the bearer token (else $VAGENT_TOKEN, else one is "
    "made and printed once); any address but loopback needs one of the first two.",
)
@click.option("--answerer", help="Answerer id for the ask tool (default as `vagent ask`).")
@click.option("--planner", help="Planner id: rules (default) or llm.")
@guarded
def mcp_cmd(
    library: str,
    db: str | None,
    over_http: bool,
    host: str,
    port: int,
    token_file: str | None,
    answerer: str | None,
    planner: str | None,
) -> None:
    """Serve a library to AI assistants over MCP: tools search_moments, ask, list_videos,
    get_frame, video_info (stdio by default, for an assistant's config).

    \b
    vagent mcp --library lectures
    vagent mcp --library lectures --http --port 8766     # prints a bearer token once
    VAGENT_TOKEN=... vagent mcp --library lectures --http --host 0.0.0.0
    """
    from vagent.serve.security import check_bind, load_token, new_token

    token = None
    if over_http:
        token = load_token(token_file)
        check_bind(host, token)  # refused before any model loads or any port opens
    from vagent.serve.mcp_server import create_mcp, http_app

    t0 = time.perf_counter()
    click.echo(f"mcp: loading models for library '{library}' ...", err=True)
    server, service = create_mcp(library, db=db, answerer=answerer, planner=planner)
    shown = f"[{host}]" if ":" in host else host
    where = f"http://{shown}:{port}/mcp" if over_http else "stdio"
    click.echo(f"mcp: ready in {time.perf_counter() - t0:.1f} s on {where}", err=True)
    try:
        if over_http:
            import uvicorn

            if token is None:
                token = new_token()
                click.echo(
                    f"mcp: clients must send 'Authorization: Bearer {token}' (a new token each "
                    f"start; set $VAGENT_TOKEN or --token-file to keep one)",
                    err=True,
                )
            uvicorn.run(http_app(server, token, host), host=host, port=port, log_level="warning")
        else:
            server.run("stdio")
    finally:
        service.close()
