"""The command line of the contract: serve, poll --once, classify, preview, check."""

from __future__ import annotations

import argparse
import email
import json
import logging
import os
import signal
import sys
from email.policy import default as default_policy
from pathlib import Path

from . import config as config_module
from .classify import classify
from .compose import Composer
from .config import Config, ConfigError
from .model import Inbound
from .parse import parse_email, parse_sms
from .policy import decide

log = logging.getLogger("responder")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.command in ("serve", "poll") else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run drowns what matters
    logging.getLogger("twilio").setLevel(logging.WARNING)  # it logs every request, numbers and texts included
    try:
        config = config_module.load(args.config)
    except ConfigError as error:
        print(f"responder: configuration error: {error}", file=sys.stderr)
        return 2
    if args.command in ("serve", "poll"):
        # A template that cannot render would leave people unanswered, a crisis among them:
        # refuse to start instead, saying which and why.
        problems = Composer(config).validate()
        if problems:
            print("responder: template error: " + "; ".join(problems), file=sys.stderr)
            return 2
    try:
        return int(args.run(config, args))
    except KeyboardInterrupt:
        return 130


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
    classify_cmd.add_argument("files", nargs="+", type=Path)
    classify_cmd.set_defaults(run=_classify)

    preview = commands.add_parser("preview", help="print the reply a file would get; nothing is sent or stored")
    preview.add_argument("file", type=Path)
    preview.set_defaults(run=_preview)

    check = commands.add_parser("check", help="validate configuration and templates, then try each connection")
    check.set_defaults(run=_check)
    return parser


def _serve(config: Config, args: argparse.Namespace) -> int:
    import uvicorn

    from .scheduler import Runner
    from .service import Service
    from .web.app import create_app

    service = Service(config)
    if not service.sources:
        log.warning("no source configured (email.imap or email.maildir.inbox): nothing will be fetched")
    runner = Runner(service)
    runner.start()
    server = uvicorn.Server(uvicorn.Config(create_app(service, wake=runner.deliver_soon), host=config.server.host, port=config.server.port,
                                           log_level="warning", access_log=False, lifespan="off"))
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

    service = Service(config)
    try:
        result = service.run_once()
    finally:
        service.close()
    summary = result.delivery
    print(f"{result.new_messages} new message(s); {summary.sent} sent, {summary.retrying} to retry, {summary.failed} failed")
    for name, error in result.source_errors.items():
        print(f"responder: source {name} failed: {error}", file=sys.stderr)
    for error in dict.fromkeys(summary.errors):
        print(f"responder: delivery: {error}", file=sys.stderr)
    return 1 if result.source_errors or summary.errors else 0


def _read(path: Path) -> Inbound:
    if path.name.endswith(".json"):
        return parse_sms(json.loads(path.read_text(encoding="utf-8")))
    return parse_email(path.read_bytes())


def _classify(config: Config, args: argparse.Namespace) -> int:
    for path in args.files:
        try:
            inbound = _read(path)
        except (OSError, ValueError) as error:
            print(f"responder: {path}: {error}", file=sys.stderr)
            continue
        classification = classify(inbound, config)
        decision = decide(classification, config)
        facts = classification.facts
        result = {
            "file": str(path), "channel": inbound.channel, "category": classification.category,
            "insurance": facts.insurance, "services": list(facts.services), "modality": facts.modality,
            "reply_to": facts.reply_to, "action": decision.action, "reasons": [*classification.reasons, *decision.reasons],
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
        inbound = _read(args.file)
    except (OSError, ValueError) as error:
        print(f"responder: {args.file}: {error}", file=sys.stderr)
        return 1
    classification = classify(inbound, config)
    decision = decide(classification, config)
    composer = Composer(config)
    print(f"# {classification.category} -> {decision.action}: {'; '.join([*classification.reasons, *decision.reasons])}")
    outgoing = composer.outgoing(inbound, classification, decision)
    if not outgoing:
        print("# no reply would be sent")
    for item in outgoing:
        message = email.message_from_bytes(item.raw, policy=default_policy)
        print(f"# {item.kind}" + (" (held for a clinician's approval)" if decision.action == "approve" and item.kind == "reply" else ""))
        for name in ("From", "To", "Subject", "Message-ID", "In-Reply-To", "References", "Auto-Submitted"):
            if message[name]:
                print(f"{name}: {message[name]}")
        print()
        print(item.body)
    return 0


def _check(config: Config, args: argparse.Namespace) -> int:
    from .service import Service

    print(f"ok   configuration {args.config}")
    composer = Composer(config)
    problems = composer.validate()
    for problem in problems:
        print(f"FAIL template {problem}")
    if not problems:
        print("ok   templates")
    for warning in composer.warnings():
        print(f"warn template {warning}")
    service = Service(config)
    passed = not problems
    try:
        for name, target in [*((s.name, s) for s in service.sources), *((f"{c} transport", t) for c, t in service.delivery.transports.items())]:
            try:
                print(f"ok   {target.check()}")
            except Exception as error:  # noqa: BLE001 - every failure is reported, then the next is tried
                passed = False
                print(f"FAIL {name}: {type(error).__name__}: {error}")
    finally:
        service.close()
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
