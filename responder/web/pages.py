"""The clinicians' pages: drafts waiting, one draft, history, the templates; sign-in and sign-out;
the conversations (web/conversations.py) and the dashboard.

Plain server-rendered HTML that works without JavaScript (one small script of our own counts a
text's segments as it is typed). Every page and action needs a signed-in clinician: a page
without a session redirects to sign-in, an action without a session or without the form's CSRF
token gets 403 and changes nothing. Sign-in attempts are limited (web/ratelimit.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ..funnel import figures
from ..model import Category, Channel, Role
from ..replying.templates import ENGLISH, FOR_CLINICIANS, Name
from ..service import Service
from ..storage.store import utcnow
from . import auth, conversations
from .dashboard import dashboard_context
from .ratelimit import SignInLimit

_env = Environment(loader=FileSystemLoader(str(files("responder.web") / "templates")), autoescape=select_autoescape(["html"]))
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

Handler = Callable[[Request], Awaitable[Response]]
log = logging.getLogger(__name__)
# Counts a text's segments as a clinician types it (replying/segments.py's rule, in JavaScript).
_SCRIPT = (files("responder.web") / "count.js").read_bytes()

# On the templates page: when each kind is sent, and the sample message it is shown for.
_WHEN = {
    Name.FIRST_REPLY: "The first reply to someone asking about therapy",
    Name.REFER_OUT: "To someone who asks only for what the practice does not offer",
    Name.REFERRAL_THANKS: "A thank-you to a professional who referred someone",
    Name.ACKNOWLEDGEMENT: "To a current client: received, and a person will answer",
    Name.CRISIS: "At once, to someone whose message shows risk",
    Name.CRISIS_ALERT: "At once, when a message shows risk",
    Name.HELP: "The answer to a text saying HELP",
    Name.DRAFT_NOTICE: "When a reply waits for approval (and as a reminder)",
    Name.FALLBACK: "To the person, when no one approved the drafted reply in time",
    Name.TASK: "When a current client writes or a professional refers someone",
    Name.TASK_CLIENT_MESSAGE: "When a current client writes",
    Name.TASK_REFERRAL: "When a professional refers someone: reach the client",
    Name.TASK_CHECK_PERSON: "When mail looks automatic but reads as a person's: look at it",
    Name.TASK_REACH_OUT: "When a person leaves no address to answer by (a web form with a phone number only): reach them",
    Name.CONVERSATION_NOTICE: "When a person writes again after the first reply (at most once per conversations.notice_every_minutes)",
}
_LANGUAGES = {ENGLISH: "English", "es": "Spanish"}
_CHANNELS = {Channel.EMAIL: "Email", Channel.SMS: "Text message"}


def routes(service: Service, wake: Callable[[], None]) -> list[Route]:
    approvals = service.approvals
    web = service.config.web
    limit = SignInLimit()

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        user = auth.signed_in(request)
        html = _env.get_template(name).render(
            practice=service.config.practice.name, user=user, admin=user is not None and service.inbox.viewer(user).role == Role.ADMIN,
            csrf=auth.csrf_token(request), **context
        )
        return HTMLResponse(html, status_code=status, headers=_HEADERS)

    def clinician_page(handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            request.state.user = auth.signed_in(request)
            if request.state.user is None:
                return RedirectResponse("/login?next=" + quote(request.url.path), status_code=303)
            return await handler(request)
        return guarded

    def clinician_action(handler: Callable[[Request, str], Awaitable[Response]]) -> Handler:
        async def guarded(request: Request) -> Response:
            user = auth.signed_in(request)
            form = await request.form()
            if user is None or not auth.csrf_ok(request, form.get("csrf")):
                return PlainTextResponse("Sign in, and use the page's own form.", status_code=403, headers=_HEADERS)
            request.state.form = form
            return await handler(request, user)
        return guarded

    async def login_form(request: Request) -> Response:
        return page(request, "login.html", next=_safe_next(request.query_params.get("next")), accounts=bool(web.clinicians))

    async def login(request: Request) -> Response:
        form = await request.form()
        target = _safe_next(str(form.get("next", "/")))
        if not auth.csrf_ok(request, form.get("csrf")):
            return page(request, "login.html", status=403, next=target, accounts=bool(web.clinicians), error="The form expired; please try again.")
        username, address, now = str(form.get("username", "")), request.client.host if request.client else "", utcnow()
        wait = limit.wait(username, address, now)
        if wait is not None:
            log.warning("sign-in refused: too many failed attempts for this user name or from %s", address)
            minutes = max(1, round(wait.total_seconds() / 60))
            return page(request, "login.html", status=429, next=target, accounts=bool(web.clinicians),
                        error=f"Too many attempts. Please wait {minutes} minute{'s' if minutes > 1 else ''} and try again.")
        user = await run_in_threadpool(auth.verify, web, username, str(form.get("password", "")))
        if user is None:
            limit.failed(username, address, now)
            log.info("sign-in failed from %s", address)
            return page(request, "login.html", status=401, next=target, accounts=bool(web.clinicians), error="Wrong user name or password.")
        limit.succeeded(username)
        auth.sign_in(request, user)
        return RedirectResponse(target, status_code=303)

    async def logout(request: Request) -> Response:
        form = await request.form()
        if auth.csrf_ok(request, form.get("csrf")):
            request.session.clear()
        return RedirectResponse("/login", status_code=303)

    async def waiting(request: Request) -> Response:
        viewer = service.inbox.viewer(request.state.user)
        drafts = [d for d in await run_in_threadpool(approvals.waiting) if viewer.may_see(d)]
        return page(request, "drafts.html", drafts=drafts, done=request.query_params.get("done"))

    async def one(request: Request) -> Response:
        draft = await run_in_threadpool(approvals.get, int(request.path_params["id"]))
        if draft is None:
            return page(request, "drafts.html", status=404, drafts=[], done="missing")
        if not service.inbox.viewer(request.state.user).may_see(draft):
            return PlainTextResponse("This draft's conversation is not assigned to you.", status_code=403, headers=_HEADERS)
        return page(request, "draft.html", draft=draft)

    async def history(request: Request) -> Response:
        only = service.inbox.viewer(request.state.user).only
        return page(request, "history.html", events=await run_in_threadpool(approvals.history, 200, only))

    async def templates(request: Request) -> Response:
        """Every template in use, rendered for a sample message: read-only, the YAML file stays
        the one place a template is changed."""
        shown = await run_in_threadpool(service.composer.showcase)
        return page(request, "templates.html", shown=shown, source=service.config.templates, when=_WHEN, languages=_LANGUAGES,
                    channels=_CHANNELS, for_clinicians=FOR_CLINICIANS, never=(Category.AUTOMATED, Category.SOLICITATION))

    def theirs(user: str, draft_id: int) -> bool:
        draft = approvals.get(draft_id)
        return draft is None or service.inbox.viewer(user).may_see(draft)

    async def approve(request: Request, user: str) -> Response:
        if not await run_in_threadpool(theirs, user, int(request.path_params["id"])):
            return PlainTextResponse("This draft's conversation is not assigned to you.", status_code=403, headers=_HEADERS)
        body = request.state.form.get("body")
        done = await run_in_threadpool(approvals.approve, int(request.path_params["id"]), user, body if isinstance(body, str) else None)
        if done:
            wake()
        return RedirectResponse("/?done=" + ("approved" if done else "gone"), status_code=303)

    async def reject(request: Request, user: str) -> Response:
        if not await run_in_threadpool(theirs, user, int(request.path_params["id"])):
            return PlainTextResponse("This draft's conversation is not assigned to you.", status_code=403, headers=_HEADERS)
        done = await run_in_threadpool(approvals.reject, int(request.path_params["id"]), user)
        return RedirectResponse("/?done=" + ("rejected" if done else "gone"), status_code=303)

    async def dashboard(request: Request) -> Response:
        funnel = await run_in_threadpool(figures, service.store, utcnow())
        return page(request, "dashboard.html", **dashboard_context(funnel))

    async def script(request: Request) -> Response:
        return Response(_SCRIPT, media_type="text/javascript", headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"})

    return [
        Route("/static/count.js", script, methods=["GET"]),
        *conversations.routes(service, wake, page, clinician_page, clinician_action),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", clinician_page(waiting), methods=["GET"]),
        Route("/drafts/{id:int}", clinician_page(one), methods=["GET"]),
        Route("/history", clinician_page(history), methods=["GET"]),
        Route("/dashboard", clinician_page(dashboard), methods=["GET"]),
        Route("/templates", clinician_page(templates), methods=["GET"]),
        Route("/drafts/{id:int}/approve", clinician_action(approve), methods=["POST"]),
        Route("/drafts/{id:int}/reject", clinician_action(reject), methods=["POST"]),
    ]


def _safe_next(target: str | None) -> str:
    """Only a path on this site: a sign-in link must not send anyone elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
