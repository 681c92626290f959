"""JSON responses encoded with msgspec, and the API's error shape."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tessera.codecs.json import encode


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return encode(content)


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)
