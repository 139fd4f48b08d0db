"""Who may talk to a server: loopback without a token, any other address only with one."""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import secrets
from pathlib import Path
from typing import Any

from vagent.errors import VagentError

TOKEN_ENV = "VAGENT_TOKEN"
MIN_TOKEN = 16  # characters: a short token is refused, it could be guessed


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``::1``, ``localhost``: only this machine can connect."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_token(token_file: str | None) -> str | None:
    """The bearer token from ``token_file`` (its first line) or $VAGENT_TOKEN; None when
    neither is given. Raises VagentError naming the file and the reason."""
    if token_file:
        try:
            text = Path(token_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
            raise VagentError(f"--token-file {token_file}: {why}") from None
        token = (text.splitlines() or [""])[0].strip()
        where = f"--token-file {token_file}"
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
        where = f"${TOKEN_ENV}"
        if not token:
            return None
    if len(token) < MIN_TOKEN:
        raise VagentError(
            f"{where}: the token must be at least {MIN_TOKEN} characters (e.g. from "
            f"`python -c 'import secrets; print(secrets.token_urlsafe())'`)"
        )
    return token


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen on a non-loopback address without a token, in one line."""
    if token is None and not is_loopback(host):
        raise VagentError(
            f"--host {host} lets other machines connect: give a bearer token with "
            f"--token-file FILE or ${TOKEN_ENV} (or bind 127.0.0.1)"
        )


def token_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def new_token() -> str:
    """A fresh random bearer token (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


class BearerOnly:
    """ASGI middleware: every HTTP request must carry ``Authorization: Bearer TOKEN``; others
    get 401 with one JSON line. Lifespan events pass through."""

    def __init__(self, app: Any, token: str) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            auth = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
            given = auth[7:].strip() if auth[:7].lower() == "bearer " else None
            if not token_matches(self.token, given):
                body = json.dumps(
                    {"error": "a bearer token is required (Authorization: Bearer TOKEN)"}
                ).encode()
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b"Bearer"),
                ]
                await send({"type": "http.response.start", "status": 401, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
