"""The ASGI app of ``serve``: health, Twilio's inbound-text webhook, the clinicians' pages.

The webhook does only what must happen before Twilio hears back: check the signature and record
the text once (with its opt-out, if it is a STOP). Reading it and owing its replies (settling),
and sending them, happen off the request on serve's worker, woken at once through ``wake``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from ..integrations.twilio.signature import is_genuine
from ..integrations.twilio.source import source_name
from ..metrics import CONTENT_TYPE as METRICS_TYPE
from ..model import Status
from ..service import Service
from . import pages

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def create_app(service: Service, wake: Callable[[], None] = lambda: None) -> Starlette:
    sms = service.config.sms

    async def healthz(request: Request) -> JSONResponse:
        failing = service.health.snapshot()
        body = {"status": "failing" if failing else "ok", "sources": [s.name for s in service.sources], "failing": failing}
        if service.calendars.sources:
            # A calendar that fails costs replies their openings, not their sending: shown, not a 503.
            body["calendars"] = {name: f"failing: {why}" for name, why in service.calendars.failing().items()} | {
                name: "ok" for name in service.calendars.sources if name not in service.calendars.failing()}
        return JSONResponse(body, status_code=503 if failing else 200)

    async def metrics(request: Request) -> Response:
        return Response(await run_in_threadpool(service.metrics.render), media_type=METRICS_TYPE)

    async def sms_inbound(request: Request) -> Response:
        if sms is None or sms.webhook_url is None:
            return PlainTextResponse("SMS is not configured", status_code=404)
        posted = await request.form()
        signature = request.headers.get("X-Twilio-Signature", "")
        if not is_genuine(validator, sms.webhook_url, signature, form=posted):
            log.warning("refused a webhook request with a %s signature", "wrong" if signature else "missing")
            return PlainTextResponse("invalid signature", status_code=403)
        form = {key: str(value) for key, value in posted.items()}
        outcome = await run_in_threadpool(service.pipeline.ingest_sms, source_name(sms), form, defer=True)
        if outcome.status not in (Status.DUPLICATE, Status.OPTED_OUT, Status.OPTED_IN, Status.SKIPPED):
            wake()
        return Response(EMPTY_TWIML, media_type="application/xml")

    routes = [Route("/healthz", healthz), Route("/metrics", metrics), *pages.routes(service, wake)]
    if sms is not None:
        validator = RequestValidator(sms.twilio.auth_token)
        routes.append(Route("/sms/inbound", sms_inbound, methods=["POST"]))
    web = service.config.web
    secret = web.secret_key
    if secret is None:
        log.warning("web.secret_key is not set: clinicians' sessions end when serve restarts")
        secret = secrets.token_urlsafe(32)
    session = Middleware(SessionMiddleware, secret_key=secret, session_cookie="responder_session", max_age=int(web.session_hours * 3600),
                         same_site="lax", https_only=service.config.page_url.startswith("https://"))
    return Starlette(routes=routes, middleware=[session])
