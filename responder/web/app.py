"""The ASGI app: health now; the SMS webhook, the clinicians' pages and metrics join it."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..service import Service


def create_app(service: Service) -> Starlette:
    async def healthz(request: Request) -> JSONResponse:
        failing = service.health.snapshot()
        body = {"status": "failing" if failing else "ok", "sources": [s.name for s in service.sources], "failing": failing}
        return JSONResponse(body, status_code=503 if failing else 200)

    return Starlette(routes=[Route("/healthz", healthz)])
