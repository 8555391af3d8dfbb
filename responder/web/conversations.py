"""The conversations on the clinicians' page: the list, one conversation, replying, the outcome,
assignment, and the access log an admin reads and exports.

Who may see what is inbox.py's rule, the same as the command line's: a clinician who opens a
conversation not assigned to them gets 403 and nothing of it. Every view is logged there.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ..inbox import Forbidden, Refused, Viewer
from ..model import Channel, ConversationOutcome, ConversationStatus, Role
from ..service import Service

PER_PAGE = 50
_OUTCOMES = {ConversationOutcome.CONSULTATION_BOOKED: "Consultation booked", ConversationOutcome.BECAME_CLIENT: "Became a client",
             ConversationOutcome.REFERRED_OUT: "Referred out", ConversationOutcome.CLOSED: "Closed"}
_DONE = {"sent": "Your reply is on its way.", "marked": "The outcome is recorded.", "assigned": "The assignment is recorded."}

Page = Callable[..., Response]
Guard = Callable[[Callable[[Request], Awaitable[Response]]], Callable[[Request], Awaitable[Response]]]
ActionGuard = Callable[[Callable[[Request, str], Awaitable[Response]]], Callable[[Request], Awaitable[Response]]]


def routes(service: Service, wake: Callable[[], None], page: Page, signed_in: Guard, action: ActionGuard) -> list[Route]:
    inbox = service.inbox
    clinicians = service.config.practice.clinicians

    def viewer(user: str) -> Viewer:
        return inbox.viewer(user)

    def forbidden(request: Request) -> Response:
        return page(request, "conversation.html", status=403, view=None, forbidden=True)

    async def listing(request: Request) -> Response:
        status = request.query_params.get("status")
        wanted = ConversationStatus(status) if status in tuple(ConversationStatus) else None
        number = max(1, _int(request.query_params.get("page"), 1))
        found, total = await run_in_threadpool(inbox.list, viewer(request.state.user), wanted, True, PER_PAGE, (number - 1) * PER_PAGE)
        return page(request, "conversations.html", conversations=found, total=total, page_number=number, showing=wanted,
                    pages=max(1, -(-total // PER_PAGE)), outcomes=_OUTCOMES)

    async def waitlist(request: Request) -> Response:
        found = await run_in_threadpool(inbox.waitlist, viewer(request.state.user))
        return page(request, "waitlist.html", conversations=found)

    async def one(request: Request) -> Response:
        try:
            view = await run_in_threadpool(inbox.show, request.path_params["id"], viewer(request.state.user))
        except Forbidden:
            return forbidden(request)
        if view is None:
            return page(request, "conversation.html", status=404, view=None)
        can_assign = viewer(request.state.user).role != Role.CLINICIAN  # a clinician neither hands a conversation on nor takes one
        return page(request, "conversation.html", view=view, token=secrets.token_hex(16), outcomes=_OUTCOMES,
                    clinicians=clinicians if can_assign else [],
                    flash=request.session.pop("flash", {}), sends_email=service.config.sends_email,
                    sends_sms=service.config.sms is not None)

    async def reply(request: Request, user: str) -> Response:
        form = request.state.form
        conversation_id = request.path_params["id"]
        channel = str(form.get("channel", ""))
        if channel not in tuple(Channel):
            return _back(request, conversation_id, error="Choose email or text.")
        try:
            owed = await run_in_threadpool(inbox.reply, conversation_id, viewer(user), Channel(channel), str(form.get("body", "")),
                                           str(form.get("token", "")) or None)
        except Forbidden:
            return forbidden(request)
        except Refused as error:
            return _back(request, conversation_id, error=f"Not sent: {error}.")
        if owed is None:
            return page(request, "conversation.html", status=404, view=None)
        wake()
        return _back(request, conversation_id, done="sent")

    async def mark(request: Request, user: str) -> Response:
        outcome = str(request.state.form.get("outcome", ""))
        conversation_id = request.path_params["id"]
        if outcome not in tuple(ConversationOutcome):
            return _back(request, conversation_id, error="Choose an outcome.")
        try:
            done = await run_in_threadpool(inbox.mark, conversation_id, viewer(user), ConversationOutcome(outcome))
        except Forbidden:
            return forbidden(request)
        if done:
            wake()  # a thank-you drafted tells practice.notify
        return _back(request, conversation_id, done="marked") if done else page(request, "conversation.html", status=404, view=None)

    async def assign(request: Request, user: str) -> Response:
        chosen = str(request.state.form.get("clinician", "")) or None
        conversation_id = request.path_params["id"]
        if viewer(user).role == Role.CLINICIAN:
            return forbidden(request)  # a clinician cannot hand a conversation on, nor take one
        try:
            done = await run_in_threadpool(inbox.assign, conversation_id, viewer(user), chosen)
        except (Forbidden, Refused):
            return _back(request, conversation_id, error="No such clinician.")
        return _back(request, conversation_id, done="assigned") if done else page(request, "conversation.html", status=404, view=None)

    async def access_log(request: Request) -> Response:
        if viewer(request.state.user).role != Role.ADMIN:
            return PlainTextResponse("Only an admin may read the access log.", status_code=403)
        rows = await run_in_threadpool(inbox.access_log, 500)
        return page(request, "access_log.html", rows=rows)

    async def access_log_csv(request: Request) -> Response:
        if viewer(request.state.user).role != Role.ADMIN:
            return PlainTextResponse("Only an admin may read the access log.", status_code=403)
        rows = await run_in_threadpool(inbox.access_log, None)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["at (UTC)", "user", "conversation", "action", "detail"])
        for row in rows:
            writer.writerow([row["at"].isoformat(timespec="seconds"), _cell(row["actor"]), row["conversation_id"], row["action"],
                             _cell(row["detail"])])
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="access-log.csv"', "Cache-Control": "no-store"})

    return [
        Route("/conversations", signed_in(listing), methods=["GET"]),
        Route("/conversations/{id:int}", signed_in(one), methods=["GET"]),
        Route("/waitlist", signed_in(waitlist), methods=["GET"]),
        Route("/conversations/{id:int}/reply", action(reply), methods=["POST"]),
        Route("/conversations/{id:int}/mark", action(mark), methods=["POST"]),
        Route("/conversations/{id:int}/assign", action(assign), methods=["POST"]),
        Route("/access-log", signed_in(access_log), methods=["GET"]),
        Route("/access-log.csv", signed_in(access_log_csv), methods=["GET"]),
    ]


def _back(request: Request, conversation_id: int, done: str | None = None, error: str | None = None) -> Response:
    """Back to the conversation, with what happened kept in the session for one showing (never
    in the address, where anyone could write a message into the page)."""
    request.session["flash"] = {"done": _DONE[done]} if done else {"error": error}
    return RedirectResponse(f"/conversations/{conversation_id}", status_code=303)


def _cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula when the export is opened."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
