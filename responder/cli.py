"""The command line of the contract: serve, poll --once, classify, preview, check."""

from __future__ import annotations

import argparse
import email
import gc
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from email.policy import default as default_policy
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from . import config as config_module
from . import logs
from .calendars.keeper import Calendars
from .config import Config, ConfigError, OAuth2
from .inbox import Viewer
from .model import Action, Channel, Classification, ConversationOutcome, ConversationStatus, DraftState, Kind, OAuthFlow, OAuthProvider, Role
from .replying.compose import Composer
from .replying.offers import NO_OFFERS, Offers
from .replying.policy import decide
from .replying.templates import TemplateError
from .storage.seal import SealError, new_key
from .storage.store import Store, StoreError
from .triage.classify import classify
from .triage.parse import parse_file

if TYPE_CHECKING:
    from .service import Service

log = logging.getLogger("responder")
T = TypeVar("T")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    verbose = args.command in ("serve", "poll")
    logs.configure(verbose)
    if not getattr(args, "needs_config", True):
        return int(args.run(None, args))
    try:
        config = config_module.load(args.config)
    except ConfigError as error:
        print(f"responder: configuration error: {error}", file=sys.stderr)
        return 2
    logs.configure(verbose, config.logging.format)
    if args.command in ("serve", "poll"):
        # A template that cannot be read or rendered would leave people unanswered, a crisis
        # among them: refuse to start instead, saying which and why.
        try:
            problems = Composer(config).validate()
        except TemplateError as error:
            problems = [str(error)]
        if problems:
            print("responder: template error: " + "; ".join(problems), file=sys.stderr)
            return 2
    try:
        _store_ready(config, args)
        return int(args.run(config, args))
    except KeyboardInterrupt:
        return 130
    except TemplateError as error:  # a templates file that does not parse, or names what responder does not know
        print(f"responder: template error: {error}", file=sys.stderr)
        return 2
    except SealError as error:
        print(f"responder: {error}", file=sys.stderr)
        return 2
    except StoreError as error:
        print(f"responder: {error}", file=sys.stderr)
        return 1
    except SQLAlchemyError as error:
        # Nothing was lost: what was not recorded is still in the mailbox or with Twilio, and
        # is fetched again on the next run. Say so plainly, without a traceback.
        cause = getattr(error, "orig", None) or error
        print(f"responder: the store failed ({type(cause).__name__}: {cause}); a full disk or a lock held by another "
              f"process? Nothing is lost: run again once it is fixed", file=sys.stderr)
        return 1


# serve, poll and connect bring the store's schema up to this release at start. These commands use the store
# as it is and change no schema: a store missing or behind stops them, saying to run `responder
# migrate`. The others do not open the store (check only reports on it).
_STORE_AS_IT_IS = ("drafts", "conversations", "report", "reseal")
# Except the lists, before anything was recorded (no store yet, or an empty one): they list nothing.
_LISTS = (("drafts", "list"), ("conversations", "list"), ("report", "referrals"))


def _store_ready(config: Config, args: argparse.Namespace) -> None:
    from .storage import migrate

    if args.command in ("serve", "poll", "connect"):
        migrate.upgrade(config.storage.url, config.storage.lock_timeout_seconds)
    elif args.command in _STORE_AS_IT_IS and (problem := migrate.problem(config.storage.url)):
        if problem.nothing_recorded and (args.command, getattr(args, "action", None) or getattr(args, "report", None)) in _LISTS:
            print(f"responder: {problem}", file=sys.stderr)
            args.nothing_recorded = True
            return
        raise StoreError(str(problem))


def _recorded(config: Config, args: argparse.Namespace, read: Callable[[Service], T], nothing: T) -> T:
    """What ``read`` finds in the store; ``nothing`` when nothing was ever recorded (a list before
    the first serve or poll)."""
    if getattr(args, "nothing_recorded", False):
        return nothing
    from .service import Service

    with Service(config) as service:
        return read(service)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="responder", description="First replies to people who write to a therapy practice.")
    parser.add_argument("--config", default=os.environ.get("RESPONDER_CONFIG", "config.yaml"),
                        help="the configuration file (default: $RESPONDER_CONFIG or config.yaml)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the service until SIGTERM or SIGINT")
    serve.set_defaults(run=_serve)

    poll = commands.add_parser("poll", help="fetch, process and deliver once")
    poll.add_argument("--once", action="store_true", required=True, help="one full round, then exit")
    poll.set_defaults(run=_poll)

    classify_cmd = commands.add_parser("classify", help="classify .eml and .sms.json files; nothing is sent or stored")
    classify_cmd.add_argument("--json", action="store_true", help="one JSON object per file, one per line")
    classify_cmd.add_argument("--at", type=_moment, help="the moment the message is taken to arrive, for the clinicians' openings (default: now)")
    classify_cmd.add_argument("files", nargs="+", type=Path)
    classify_cmd.set_defaults(run=_classify)

    preview = commands.add_parser("preview", help="print the reply a file would get; nothing is sent or stored")
    preview.add_argument("--at", type=_moment, help="the moment the message is taken to arrive, for the openings it offers (default: now)")
    preview.add_argument("file", type=Path)
    preview.set_defaults(run=_preview)

    check = commands.add_parser("check", help="validate configuration and templates, then try each connection")
    check.set_defaults(run=_check)

    drafts = commands.add_parser("drafts", help="replies waiting for a clinician's approval").add_subparsers(dest="action", required=True)
    listing = drafts.add_parser("list", help="the drafts waiting, newest first")
    listing.add_argument("--json", action="store_true", help="a JSON array")
    listing.set_defaults(run=_drafts_list)
    show = drafts.add_parser("show", help="one draft: the message, why it was read so, the reply")
    show.add_argument("id", type=int)
    show.set_defaults(run=_drafts_show)
    approve = drafts.add_parser("approve", help="send the reply (once, at once)")
    approve.add_argument("id", type=int)
    approve.add_argument("--edit", action="store_true", help="edit the reply in $EDITOR first")
    approve.set_defaults(run=_drafts_approve)
    reject = drafts.add_parser("reject", help="never send the reply")
    reject.add_argument("id", type=int)
    reject.set_defaults(run=_drafts_reject)

    availability = commands.add_parser("availability", help="read every calendar now and print each clinician's open consultation slots")
    availability.add_argument("--json", action="store_true", help="one JSON object")
    availability.add_argument("--at", type=_moment, help="the moment to count from, ISO 8601 with its offset (default: now)")
    availability.add_argument("--clinician", help="only this clinician's (an id in practice.clinicians)")
    availability.set_defaults(run=_availability)

    conversations = commands.add_parser("conversations", help="each person's conversation after the first reply: read, answer, record").add_subparsers(
        dest="action", required=True)
    listing = conversations.add_parser("list", help="conversations, newest activity first")
    listing.add_argument("--json", action="store_true", help="a JSON array")
    listing.add_argument("--status", choices=list(ConversationStatus), help="only open or only closed ones")
    listing.add_argument("--limit", type=int, default=200, help="at most this many (default 200)")
    listing.set_defaults(run=_conversations_list)
    show = conversations.add_parser("show", help="one conversation: every message in and out, in order")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true", help="one JSON object")
    show.set_defaults(run=_conversations_show)
    reply = conversations.add_parser("reply", help="answer the person, once, by email (threaded) or text")
    reply.add_argument("id", type=int)
    reply.add_argument("--channel", choices=list(Channel), required=True)
    reply.add_argument("--body", required=True, help="what to send; - reads it from stdin")
    reply.add_argument("--as", dest="author", help="the clinician sending it, as recorded (default: cli:$USER)")
    reply.set_defaults(run=_conversations_reply)
    mark = conversations.add_parser("mark", help="record what became of the conversation")
    mark.add_argument("id", type=int)
    mark.add_argument("outcome", choices=list(ConversationOutcome))
    mark.set_defaults(run=_conversations_mark)
    assign = conversations.add_parser("assign", help="assign the conversation to a clinician of practice.clinicians (or to nobody: -)")
    assign.add_argument("id", type=int)
    assign.add_argument("clinician")
    assign.set_defaults(run=_conversations_assign)

    evaluate = commands.add_parser("eval", help="classification quality on a labelled folder (labels.yaml beside the files)")
    evaluate.add_argument("folder", type=Path)
    evaluate.add_argument("--json", action="store_true", help="the figures as one JSON object")
    evaluate.set_defaults(run=_eval)

    report = commands.add_parser("report", help="reports from the store").add_subparsers(dest="report", required=True)
    referral_report = report.add_parser("referrals", help="who referred clients, with counts, over a period")
    referral_report.add_argument("--since", type=_day, help="from this day (YYYY-MM-DD, UTC; default: all)")
    referral_report.add_argument("--until", type=_day, help="up to, not including, this day")
    referral_report.add_argument("--json", action="store_true", help="a JSON array")
    referral_report.set_defaults(run=_report_referrals)
    funnel_report = report.add_parser("funnel", help="the practice's figures: inquiries per week, time to first replies, waiting, conversions")
    funnel_report.add_argument("--weeks", type=int, default=12, help="how many weeks back (default 12, this one included)")
    funnel_report.add_argument("--json", action="store_true", help="one JSON object")
    funnel_report.set_defaults(run=_report_funnel)

    hash_password = commands.add_parser("hash-password", help="hash a clinician's password for web.clinicians (reads it from stdin or asks)")
    hash_password.set_defaults(run=_hash_password, needs_config=False)

    key = commands.add_parser("new-key", help="print a new key for storage.encryption_key (keep it in the environment)")
    key.set_defaults(run=_new_key, needs_config=False)

    template_commands = commands.add_parser("templates", help="the reply templates").add_subparsers(dest="action", required=True)
    export = template_commands.add_parser("export", help="print every shipped template as one YAML document, to start a file of your own from")
    export.set_defaults(run=_templates_export, needs_config=False)

    migrate = commands.add_parser("migrate", help="bring the store's schema up to this release (serve and poll do it at start)")
    migrate.set_defaults(run=_migrate)

    reseal = commands.add_parser("reseal", help="seal every stored message and reply under the newest storage.encryption_key")
    reseal.set_defaults(run=_reseal)

    connect = commands.add_parser("connect", help="sign in to the mailbox's provider (email.oauth2) and store the refresh token sealed")
    connect.set_defaults(run=_connect)
    return parser


def _serve(config: Config, args: argparse.Namespace) -> int:
    import uvicorn

    from .scheduler import Runner
    from .service import Service
    from .triage import learned
    from .web.app import create_app

    service = Service(config)
    if not service.sources:
        log.warning("no source configured (email.imap or email.maildir.inbox): nothing will be fetched")
    runner = Runner(service)
    learned.shipped()  # the model's weights: read now, not while the first person waits
    # Everything built so far lives as long as serve: leave it out of the collector's full
    # passes, which would otherwise walk it all while every request in flight waits (the
    # figures are in bench/README-load.md).
    gc.freeze()
    runner.start()
    server = uvicorn.Server(uvicorn.Config(create_app(service, wake=runner.wake), host=config.server.host, port=config.server.port,
                                           log_level="warning", access_log=False, lifespan="off", log_config=None))
    log.info("serving on http://%s:%s with %s source(s)", config.server.host, config.server.port, len(service.sources))
    # uvicorn stops on SIGTERM/SIGINT, then raises the signal again for whatever handler was there
    # before it; with this one in place that second delivery is a no-op and the scheduler below is
    # stopped cleanly instead of the process dying mid-job.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: None)
    try:
        server.run()
    finally:
        log.info("stopping")
        runner.stop()
    return 0 if server.started else 1


def _poll(config: Config, args: argparse.Namespace) -> int:
    from .service import Service

    with Service(config) as service:
        result = service.run_once()
    summary = result.delivery
    print(f"{result.new_messages} new message(s); {summary.sent} sent, {summary.retrying} to retry, {summary.failed} failed")
    for name, error in result.source_errors.items():
        print(f"responder: source {name} failed: {error}", file=sys.stderr)
    for error in dict.fromkeys(summary.errors):
        print(f"responder: delivery: {error}", file=sys.stderr)
    return 1 if result.source_errors or summary.errors else 0


def _classify(config: Config, args: argparse.Namespace) -> int:
    from .matching import matched

    earliest = _earliest(config, args.at)
    for path in args.files:
        try:
            inbound = parse_file(path)
        except (OSError, ValueError) as error:
            print(f"responder: {path}: {error}", file=sys.stderr)
            continue
        classification = classify(inbound, config)
        decision = decide(classification, config)
        facts = classification.facts
        result = {
            "file": str(path), "channel": inbound.channel, "category": classification.category,
            "insurance": facts.insurance, "services": list(facts.services), "modality": facts.modality,
            "reply_to": facts.reply_to, "action": decision.action, "reasons": [*classification.reasons, *decision.reasons, *classification.evidence],
            "language": facts.language, "age": facts.age, "clinicians": matched(classification, config, earliest),
        }
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            print(f"{path}: {result['category']} -> {result['action']}")
            print(f"  insurance {facts.insurance}; services {', '.join(facts.services) or '-'}; modality {facts.modality}; reply to {facts.reply_to or '-'}")
            for reason in result["reasons"]:
                print(f"  - {reason}")
    return 0


def _preview(config: Config, args: argparse.Namespace) -> int:
    try:
        inbound = parse_file(args.file)
    except (OSError, ValueError) as error:
        print(f"responder: {args.file}: {error}", file=sys.stderr)
        return 1
    classification = classify(inbound, config)
    decision = decide(classification, config)
    composer = Composer(config)
    print(f"# {classification.category} -> {decision.action}: {'; '.join([*classification.reasons, *decision.reasons, *classification.evidence])}")
    outgoing = composer.outgoing(inbound, classification, decision, offers=_offers(config, classification, args.at))
    if not outgoing:
        print("# no reply would be sent")
    for item in outgoing:
        message = email.message_from_bytes(item.raw, policy=default_policy)
        print(f"# {item.kind}" + (" (held for a clinician's approval)" if decision.action == Action.APPROVE and item.kind == Kind.REPLY else ""))
        for name in ("From", "To", "Subject", "Message-ID", "In-Reply-To", "References", "Auto-Submitted"):
            if message[name]:
                print(f"{name}: {message[name]}")
        print()
        print(item.body)
    return 0


def _check(config: Config, args: argparse.Namespace) -> int:
    from .service import Service

    composer = Composer(config)  # a templates file that cannot be read stops check here, as a broken configuration does
    print(f"ok   configuration {args.config}")
    problems = composer.validate()
    for problem in problems:
        print(f"FAIL template {problem}")
    if not problems:
        print("ok   templates")
    for warning in composer.warnings():
        print(f"warn template {warning}")
    passed = not problems
    passed = _check_store(config) and passed
    with Service(config) as service:
        targets = [*((f"oauth2 {account}", keeper) for account, keeper in service.tokens.items()),
                   *((s.name, s) for s in service.sources), *((f"{c} transport", t) for c, t in service.delivery.transports.items())]
        if service.mail_drafts is not None:
            targets.append(("imap drafts", service.mail_drafts))
        for name, target in targets:
            try:
                print(f"ok   {target.check()}")
            except Exception as error:  # noqa: BLE001 - every failure is reported, then the next is tried
                passed = False
                print(f"FAIL {name}: {type(error).__name__}: {error}")
    return 0 if passed else 1


def _check_store(config: Config) -> bool:
    """Whether the store can be reached and used by this release; a store missing or behind only
    warns, since serve and poll bring it up at start."""
    from .storage import migrate

    try:
        problem = migrate.problem(config.storage.url)
    except (StoreError, SQLAlchemyError) as error:
        print(f"FAIL store: {getattr(error, 'orig', None) or error}")
        return False
    print(f"warn store: {problem}" if problem else f"ok   store at revision {migrate.head()}")
    return True


def _eval(config: Config, args: argparse.Namespace) -> int:
    from .triage.evaluate import evaluate

    if not (args.folder / "labels.yaml").exists():
        print(f"responder: {args.folder}: no labels.yaml there", file=sys.stderr)
        return 1
    report = evaluate(args.folder, config)
    print(json.dumps(report.as_json(), indent=2) if args.json else report.text())
    return 0


def _day(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a day as YYYY-MM-DD, got {value!r}") from None


def _earliest(config: Config, at: datetime | None) -> dict[str, datetime | None]:
    """Each clinician's first open slot from ``at`` (now), their calendars read first: what
    orders the clinicians who fit. Nothing to read for a solo practice."""
    if not config.practice.clinicians:
        return {}
    from .calendars.openings import openings

    moment, calendars = _calendars_at(config, at)
    return {o.clinician: o.slots[0].start if o.slots else None for o in openings(config, calendars, moment)}


def _offers(config: Config, classification: Classification, at: datetime | None) -> Offers:
    """Who a previewed first reply names, from the calendars read now."""
    if not config.practice.clinicians:
        return NO_OFFERS
    from .calendars.openings import offers_for

    moment, calendars = _calendars_at(config, at)
    return offers_for(config, calendars, classification, moment)


def _calendars_at(config: Config, at: datetime | None) -> tuple[datetime, Calendars]:
    """The calendars, read now, and the moment to count from (``at``, else now)."""
    from .storage.store import utcnow

    moment = at or utcnow().replace(tzinfo=timezone.utc)
    calendars = Calendars(config)
    calendars.refresh(moment)
    return moment, calendars


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a time such as 2027-03-01T09:00:00-06:00, got {value!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"expected a time with its offset (e.g. -06:00 or Z), got {value!r}")
    return moment


def _availability(config: Config, args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from .calendars.openings import openings
    from .storage.store import utcnow

    if args.clinician is not None and config.practice.clinician(args.clinician) is None:
        print(f"responder: no clinician {args.clinician!r} in practice.clinicians", file=sys.stderr)
        return 2
    zone = ZoneInfo(config.practice.timezone)
    at = (args.at or utcnow().replace(tzinfo=timezone.utc)).astimezone(zone)
    calendars = Calendars(config)
    failed = calendars.refresh(at)
    found = openings(config, calendars, at, args.clinician)
    if args.json:
        print(json.dumps({"at": at.isoformat(), "clinicians": [o.as_json() for o in found]}, ensure_ascii=False, indent=2))
    else:
        for opening in found:
            state = f"calendar {opening.calendar}" + (f": {opening.error}" if opening.error else "")
            print(f"{opening.clinician} ({state}): {len(opening.slots)} open slot(s)")
            for slot in opening.slots:
                print(f"  {slot.start:%a %Y-%m-%d %H:%M}-{slot.end:%H:%M}")
    return 1 if failed else 0


def _report_referrals(config: Config, args: argparse.Namespace) -> int:
    sources = _recorded(config, args, lambda service: service.store.referral_sources(args.since, args.until), [])
    if args.json:
        print(json.dumps([s | {"first": s["first"].isoformat() + "Z", "last": s["last"].isoformat() + "Z"} for s in sources], ensure_ascii=False, indent=2))
        return 0
    if not sources:
        print("no referrals in this period")
    for source in sources:
        print(f"{source['referrals']:>4}  {source['name']}, {source['organization']} <{source['address']}>  (last {source['last']:%Y-%m-%d}; "
              f"{source['became_clients']} became clients)")
    return 0


def _report_funnel(config: Config, args: argparse.Namespace) -> int:
    from .funnel import figures, text
    from .service import Service
    from .storage.store import utcnow

    with Service(config) as service:
        funnel = figures(service.store, utcnow(), args.weeks)
    print(json.dumps(funnel.as_json(), ensure_ascii=False, indent=2) if args.json else text(funnel))
    return 0


def _drafts_list(config: Config, args: argparse.Namespace) -> int:
    waiting = _recorded(config, args, lambda service: service.approvals.waiting(), [])
    if args.json:
        print(json.dumps([draft.as_json() for draft in waiting], ensure_ascii=False, indent=2))
        return 0
    if not waiting:
        print("no drafts waiting")
    for draft in waiting:
        print(f"{draft.id:>5}  {draft.created_at:%Y-%m-%d %H:%M}  {draft.channel:<5}  {draft.category:<22}  to {draft.to}  {draft.subject}")
    return 0


def _drafts_show(config: Config, args: argparse.Namespace) -> int:
    from .service import Service

    with Service(config) as service:
        draft = service.approvals.get(args.id)
    if draft is None:
        print(f"responder: no draft {args.id}", file=sys.stderr)
        return 1
    print(f"Draft {draft.id} ({draft.state}), {draft.category} by {draft.channel}, {draft.created_at:%Y-%m-%d %H:%M} UTC")
    print(f"From: {draft.sender}" + (f"\nSubject: {draft.message_subject}" if draft.message_subject else ""))
    print()
    print(draft.message_text)
    print()
    print("Why: " + "; ".join(draft.reasons))
    print()
    print(f"--- reply to {draft.to}" + (f", subject {draft.subject}" if draft.subject else ""))
    print(draft.body)
    return 0


def _drafts_approve(config: Config, args: argparse.Namespace) -> int:
    from .service import Service

    with Service(config) as service:
        draft = service.approvals.get(args.id)
        if draft is None or draft.state != DraftState.WAITING:
            print(f"responder: no pending draft {args.id}", file=sys.stderr)
            return 1
        body = _edit(draft.body) if args.edit else None
        if not service.approvals.approve(args.id, _actor(), body):
            print(f"responder: no pending draft {args.id}", file=sys.stderr)
            return 1
        summary = service.delivery.run()
    sent = "sent" if summary.sent else "approved; it will be sent at the next delivery run"
    print(f"draft {args.id} {sent}" + (" with your edits" if body is not None else ""))
    return 0


def _drafts_reject(config: Config, args: argparse.Namespace) -> int:
    from .service import Service

    with Service(config) as service:
        done = service.approvals.reject(args.id, _actor())
    if not done:
        print(f"responder: no pending draft {args.id}", file=sys.stderr)
        return 1
    print(f"draft {args.id} rejected: it will not be sent")
    return 0


def _conversations_list(config: Config, args: argparse.Namespace) -> int:
    from .inbox import listed_json

    found, total = _recorded(config, args, lambda service: service.inbox.list(_viewer(), args.status, limit=args.limit), ([], 0))
    if args.json:
        print(json.dumps([listed_json(c) for c in found], ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("no conversations")
    for c in found:
        waiting = "WAITING" if c.waiting_on_us else ""
        print(f"{c.id:>6}  {c.last_activity_at:%Y-%m-%d %H:%M}  {c.status:<6}  {waiting:<7}  {c.messages:>3} msg  "
              f"{', '.join(c.known_as[:2]) or '-'}" + (f"  [{c.outcome}]" if c.outcome else "") + (f"  ({c.clinician})" if c.clinician else ""))
    if total > len(found):
        print(f"... {total - len(found)} more (--limit)")
    return 0


def _conversations_show(config: Config, args: argparse.Namespace) -> int:
    from .service import Service

    with Service(config) as service:
        view = service.inbox.show(args.id, _viewer())
    if view is None:
        print(f"responder: no conversation {args.id}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(view.as_json(), ensure_ascii=False, indent=2))
        return 0
    c = view.conversation
    print(f"Conversation {c.id} ({c.status}{', waiting on us' if c.waiting_on_us else ''}), known as {', '.join(c.known_as) or '-'}")
    if c.outcome or c.clinician or c.referral_source:
        print(f"Outcome: {c.outcome or '-'}   Clinician: {c.clinician or '-'}   Referred by: {c.referral_source or '-'}")
    for entry in view.entries:
        arrow = "<-" if entry.incoming else "->"
        by = f" by {entry.author}" if entry.author else ""
        print(f"\n{arrow} {entry.at:%Y-%m-%d %H:%M} {entry.channel} {entry.kind} {'from' if entry.incoming else 'to'} {entry.who}{by} [{entry.state}]")
        if entry.subject:
            print(f"   Subject: {entry.subject}")
        print("   " + entry.text.strip().replace("\n", "\n   "))
    return 0


def _conversations_reply(config: Config, args: argparse.Namespace) -> int:
    from .inbox import Refused
    from .service import Service

    body = sys.stdin.read() if args.body == "-" else args.body
    with Service(config) as service:
        viewer = _viewer(args.author)
        try:
            owed = service.inbox.reply(args.id, viewer, Channel(args.channel), body)
        except Refused as error:
            print(f"responder: {error}", file=sys.stderr)
            return 1
        if owed is None:
            print(f"responder: no conversation {args.id}", file=sys.stderr)
            return 1
        summary = service.delivery.run()
    print(f"reply {owed} " + ("sent" if summary.sent else "owed: it will be sent at the next delivery run"))
    return 0


def _conversations_mark(config: Config, args: argparse.Namespace) -> int:
    from .service import Service

    with Service(config) as service:
        done = service.inbox.mark(args.id, _viewer(), ConversationOutcome(args.outcome))
    if not done:
        print(f"responder: no conversation {args.id}", file=sys.stderr)
        return 1
    print(f"conversation {args.id}: {args.outcome}")
    return 0


def _conversations_assign(config: Config, args: argparse.Namespace) -> int:
    from .inbox import Refused
    from .service import Service

    with Service(config) as service:
        try:
            done = service.inbox.assign(args.id, _viewer(), None if args.clinician == "-" else args.clinician)
        except Refused as error:
            print(f"responder: {error}", file=sys.stderr)
            return 2
    if not done:
        print(f"responder: no conversation {args.id}", file=sys.stderr)
        return 1
    print(f"conversation {args.id} assigned to {args.clinician}")
    return 0


def _viewer(author: str | None = None) -> Viewer:
    """Someone at the command line can read the store anyway: they see every conversation."""
    return Viewer(author or _actor(), Role.ADMIN)


def _actor() -> str:
    import getpass

    return "cli:" + getpass.getuser()


def _edit(body: str) -> str:
    """The reply as the clinician left it in $VISUAL or $EDITOR."""
    import shlex
    import subprocess
    import tempfile

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("w+", suffix=".txt", encoding="utf-8", delete=False) as file:
        file.write(body)
    try:
        subprocess.run([*shlex.split(editor), file.name], check=True)
        return Path(file.name).read_text(encoding="utf-8")
    finally:
        os.unlink(file.name)


def _migrate(config: Config, args: argparse.Namespace) -> int:
    from .storage import migrate

    before, after = migrate.upgrade(config.storage.url, config.storage.lock_timeout_seconds)
    print(f"the store is at revision {after}" + (f" (was {before or 'unversioned or new'})" if before != after else ": nothing to do"))
    return 0


def _reseal(config: Config, args: argparse.Namespace) -> int:
    if config.storage.encryption_key is None:
        print("responder: storage.encryption_key is not set: there is no key to seal with", file=sys.stderr)
        return 1
    store = Store(config.storage.url, config.storage.lock_timeout_seconds, config.storage.encryption_key)
    try:
        changed = store.reseal()
    finally:
        store.engine.dispose()
    print(f"{changed} row(s) sealed under the newest key; nothing is stored in the clear or under an older key")
    return 0


def _connect(config: Config, args: argparse.Namespace) -> int:
    """The interactive sign-in (for Microsoft a device code, or a browser for an app with a secret;
    for Google the loopback browser flow), for each account that signs in with email.oauth2 (IMAP's
    and SMTP's, when they are two); the refresh token it gives is stored sealed, and a first access
    token proves it."""
    settings = config.email.oauth2 if config.email is not None else None
    accounts = config.email.oauth2_accounts if config.email is not None else []
    if settings is None or not accounts:
        print("responder: connect signs in for email.oauth2, and no email.imap or email.smtp has auth: oauth2", file=sys.stderr)
        return 2
    if settings.provider == OAuthProvider.GENERIC:
        print("responder: provider generic has no sign-in here: put the account's refresh token in email.oauth2.refresh_token", file=sys.stderr)
        return 2
    store = Store(config.storage.url, config.storage.lock_timeout_seconds, config.storage.encryption_key)
    sealed = "sealed" if config.storage.encryption_key else "unsealed (set storage.encryption_key to seal it)"
    return max(_connect_account(store, account, settings, sealed, several=len(accounts) > 1) for account in accounts)


def _connect_account(store: Store, account: str, settings: OAuth2, sealed: str, several: bool) -> int:
    from .integrations.oauth2 import google, microsoft
    from .integrations.oauth2.tokens import SignInNeeded, TokenUnavailable, signed_in, tokens_for

    if settings.flow == OAuthFlow.APP_ONLY:
        try:
            tokens_for(account, settings, store).access_token()
        except (SignInNeeded, TokenUnavailable) as error:
            print(f"responder: no token for {account} with the app's own credential: {error}", file=sys.stderr)
            return 1
        print(f"ok   {settings.provider} app-only: a token for {account} was had with the app's own credential; nobody needs to sign in")
        return 0
    if several:
        print(f"Now sign in as {account}:")
    try:
        refresh_token = microsoft.sign_in(settings, print) if settings.provider == OAuthProvider.MICROSOFT else google.sign_in(settings)
        signed_in(store, account, settings, refresh_token)
        tokens_for(account, settings, store).access_token()
    except (SignInNeeded, TokenUnavailable) as error:
        print(f"responder: the sign-in for {account} failed: {error}", file=sys.stderr)
        return 1
    print(f"ok   signed in to {settings.provider} for {account}; the refresh token is stored, {sealed}")
    return 0


def _templates_export(config: None, args: argparse.Namespace) -> int:
    from .replying import templates

    # UTF-8 whatever the terminal's locale: the file this becomes is read as UTF-8.
    sys.stdout.buffer.write(templates.export(templates.shipped()).encode("utf-8"))
    return 0


def _new_key(config: None, args: argparse.Namespace) -> int:
    print(new_key())
    return 0


def _hash_password(config: None, args: argparse.Namespace) -> int:
    import getpass

    from argon2 import PasswordHasher

    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("Password: ")
    if len(password) < 8:
        print("responder: use a password of at least 8 characters", file=sys.stderr)
        return 1
    print(PasswordHasher().hash(password))
    return 0


if __name__ == "__main__":
    sys.exit(main())
