"""Serve a library: an HTTP API with a web page (``vagent serve``) and an MCP server
(``vagent mcp``)."""

from __future__ import annotations

from vagent.serve.app import create_app

__all__ = ["create_app"]
