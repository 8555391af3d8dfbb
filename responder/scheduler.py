"""APScheduler wiring for ``serve``: each source polled on its interval (a safety net under IDLE),
an IDLE bell per IMAP source that fetches at once, and one worker thread that settles received
texts and delivers due replies whenever something is owed, and every few seconds for retries."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler

from .integrations.base import Source
from .integrations.imap.source import ImapSource, backoff
from .service import Service

log = logging.getLogger(__name__)

DELIVERY_SECONDS = 2
APPROVAL_SECONDS = 30
NOTICE_SECONDS = 60
MAIL_DRAFTS_SECONDS = 10
PURGE_SECONDS = 3600


class Runner:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.scheduler = BackgroundScheduler(
            timezone=timezone.utc, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        )
        self.stopping = threading.Event()
        self.woken = threading.Event()
        self.worker = threading.Thread(target=self._work, name="settle-and-deliver", daemon=True)
        self.bells: list[threading.Thread] = []
        self.failures: dict[str, int] = {}

    def start(self) -> None:
        now = datetime.now(timezone.utc)
        for source in self.service.sources:
            self.scheduler.add_job(self.poll, "interval", seconds=source.poll_seconds, args=[source],
                                   id=f"source:{source.name}", name=source.name, next_run_time=now)
            if isinstance(source, ImapSource) and source.settings.idle:
                bell = threading.Thread(target=source.watch, args=(self.stopping, lambda s=source: self.poll(s), self._bell_health(source)),
                                        name=f"idle:{source.name}", daemon=True)
                self.bells.append(bell)
        self.scheduler.add_job(self.follow_up_drafts, "interval", seconds=APPROVAL_SECONDS, id="drafts", next_run_time=now)
        self.scheduler.add_job(self.notify_waiting, "interval", seconds=NOTICE_SECONDS, id="conversation-notices", next_run_time=now)
        if self.service.calendars.sources:
            minutes = self.service.config.practice.availability.calendar_refresh_minutes
            self.scheduler.add_job(self.read_calendars, "interval", seconds=minutes * 60, id="calendars", next_run_time=now)
        if self.service.mail_drafts is not None:
            self.scheduler.add_job(self.sync_mail_drafts, "interval", seconds=MAIL_DRAFTS_SECONDS, id="mail-drafts", next_run_time=now)
        if self.service.config.storage.retention_days is not None:
            self.scheduler.add_job(self.purge, "interval", seconds=PURGE_SECONDS, id="purge", next_run_time=now)
        self.scheduler.start()
        self.woken.set()  # texts a crash left received, replies it left owed
        self.worker.start()
        for bell in self.bells:
            bell.start()

    def _bell_health(self, source: ImapSource) -> Callable[[str | None], None]:
        """What the IDLE connection reports: a failure shows on /healthz under its own name, so
        a bell that keeps failing is seen even while polling still works."""
        name = f"{source.name} (IDLE)"

        def report(failure: str | None) -> None:
            if failure is None:
                self.service.health.ok(name)
            else:
                self.service.source_failed(name, failure)
        return report

    def stop(self) -> None:
        """Finish the send or the text in hand and the jobs that are running, then close every
        connection. What is left stays owed in the store for the next start."""
        self.stopping.set()
        self.woken.set()
        self.scheduler.shutdown(wait=True)
        self.worker.join()
        for bell in self.bells:
            bell.join(timeout=5)
        self.service.close()

    def poll(self, source: Source) -> None:
        """Fetch from one source and deliver at once what it produced; on failure, try again
        sooner than the poll interval, backing off to 30 seconds."""
        try:
            count = self.service.poll_source(source)
        except Exception as error:  # noqa: BLE001 - serve never exits because a server went away
            failures = self.failures[source.name] = self.failures.get(source.name, 0) + 1
            delay = min(backoff(failures), source.poll_seconds)
            log.warning("%s failed (%s); trying again in %ss", source.name, type(error).__name__, delay)
            if not self.stopping.is_set():
                self.scheduler.modify_job(f"source:{source.name}", next_run_time=datetime.now(timezone.utc) + timedelta(seconds=delay))
            return
        self.failures.pop(source.name, None)
        if count:
            self.wake()

    def notify_waiting(self) -> None:
        """Notices held back by conversations.notice_every_minutes, once that time has passed;
        conversations quiet for conversations.close_after_days closed."""
        try:
            if self.service.pipeline.notify_waiting():
                self.wake()
            self.service.inbox.close_quiet()
        except Exception:  # noqa: BLE001 - the next run tries again
            log.exception("conversation notices failed")

    def read_calendars(self) -> None:
        """The clinicians' calendars, read in their own job: a reply never waits for one."""
        try:
            self.service.calendars.refresh(datetime.now(timezone.utc))
        except Exception:  # noqa: BLE001 - the next run tries again; the kept copies stand meanwhile
            log.exception("reading the calendars failed")

    def follow_up_drafts(self) -> None:
        """Reminders and fallbacks for drafts nobody has answered."""
        try:
            if self.service.approvals.remind_and_fall_back():
                self.wake()
        except Exception:  # noqa: BLE001 - the next run tries again
            log.exception("draft follow-up failed")

    def sync_mail_drafts(self) -> None:
        try:
            self.service.sync_mail_drafts()
        except Exception as error:  # noqa: BLE001 - the mailbox may be away; the next run tries again
            log.warning("Drafts folder sync failed (%s); trying again later", type(error).__name__)

    def purge(self) -> None:
        try:
            self.service.purge()
        except Exception as error:  # noqa: BLE001 - the next run tries again
            log.warning("purging old messages failed (%s); trying again in an hour", type(error).__name__)

    def wake(self) -> None:
        """Settle and deliver now, on the worker thread: cheap enough for the webhook to call on
        every request, and a wake that comes mid-round brings one more round."""
        self.woken.set()

    def _work(self) -> None:
        while not self.stopping.is_set():
            self.woken.wait(DELIVERY_SECONDS)
            self.woken.clear()
            try:
                self.service.pipeline.settle(self.stopping.is_set)
            except Exception:  # noqa: BLE001 - a store hiccup is logged; the next round tries again
                log.exception("settling received texts failed")
            try:
                self.service.delivery.run(self.stopping.is_set)
            except Exception:  # noqa: BLE001 - as above
                log.exception("delivery run failed")
