"""A bound on request bodies, with or without ``Content-Length``.

A declared length over the bound is refused before the app runs. A body sent in chunks
(``Transfer-Encoding: chunked``, no length) is counted as it arrives: the moment it passes the
bound the app's read fails, the answer is 413 with ``Connection: close`` and the server drops
the connection, so a client cannot stream without end into the server's memory.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large(limit: int) -> str:
    return f"the request body is over {limit // 1024} KiB"


class BodyLimit:
    """ASGI middleware: request bodies of at most ``limit`` bytes."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        size = headers.get(b"content-length")
        if size is not None and (not size.isdigit() or int(size) > self.limit):
            await _refuse(send, 413, too_large(self.limit))
            return
        seen = 0
        over = answered = started = False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    over = True
                    raise HTTPException(413, too_large(self.limit))
            return message

        async def answer(message: Message) -> None:
            nonlocal answered, started
            if over and not started:  # whatever the app made of the failed read: ours instead
                if not answered:
                    answered = True
                    await _refuse(send, 413, too_large(self.limit))
                return
            started = True
            await send(message)

        try:
            await self.app(scope, counted if size is None else receive, answer)
        except Exception:
            if not over:
                raise
        if over and not answered and not started:
            await _refuse(send, 413, too_large(self.limit))


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
