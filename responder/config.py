"""Configuration: YAML in, validated and frozen settings out.

The reference file is ``shared/contract/config.yaml``; every key there keeps its meaning. Validation
happens once, at start, so that a practice owner sees a wrong key before a person is left
unanswered; every error names the key path and what was expected.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from .model import Action, MailAuth, OAuthFlow, OAuthProvider, Role
from .storage import seal

SERVICES = ("individual", "couples", "family", "child", "teen", "group", "emdr", "medication", "assessment", "court")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Service = Literal["individual", "couples", "family", "child", "teen", "group", "emdr", "medication", "assessment", "court"]
Modality = Literal["telehealth", "in_person"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")
_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


class ConfigError(Exception):
    """A configuration that cannot run; the message is meant for the practice owner."""


class _Model(BaseModel):
    # Unknown keys are refused: a misspelt key silently ignored is a setting the practice thinks it has.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError(f"expected an email address, got {value!r}")
    return value.lower()


Address = Annotated[str, BeforeValidator(lambda v: _address(str(v)))]


def _mode(value: Any) -> Any:
    # YAML 1.1 reads a bare `off` as false; the contract says both mean off.
    return "off" if value is False else value


class Plan(_Model):
    id: str
    name: str
    aliases: list[str] = []


class Insurance(_Model):
    plans: list[Plan] = []
    # Plans the practice is not in network with, recognised so the person gets the out-of-network
    # answer rather than the generic one. Added to a built-in list (OTHER_PLANS, triage/facts/insurance.py).
    other_aliases: list[str] = []
    out_of_network: Literal["superbill", "none"] = "none"
    self_pay_rate: float | None = None
    sliding_scale: bool = False


class Consultation(_Model):
    offered: bool = False
    minutes: int = 15
    price: float = 0
    format: str = "phone or video"
    booking_url: str | None = None


class Slots(_Model):
    """Consultation slots offered in first replies (the contract's availability rule)."""

    step_minutes: int = Field(30, gt=0)  # candidate starts every step from the start of each window
    buffer_minutes: int = Field(10, ge=0)  # free time needed before and after, against busy events
    minimum_notice_hours: float = Field(12, ge=0)  # nothing sooner than this after the message arrives
    horizon_days: int = Field(14, gt=0, le=366)  # nothing later than this many days after it arrives
    offer: int = Field(3, ge=0)  # how many slots a reply names (the earliest, on different days)


class Availability(_Model):
    accepting_new_clients: bool = True
    hours: dict[Day, str] = {}
    modalities: list[Modality] = []
    typical_wait: str | None = None
    calendar_ics: str | None = None  # a practice-wide feed of busy times (closures, retreats): http, https or a file path
    closed: list[date] = []  # whole days without consultations
    slots: Slots = Slots()
    calendar_refresh_minutes: float = Field(5, gt=0)  # feeds are read in the background this often, never on the reply path

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, str]) -> dict[str, str]:
        return _week(value)


def _week(value: dict[str, str]) -> dict[str, str]:
    """Hours by day, each a range like 09:00-17:00 that ends after it starts."""
    for day, span in value.items():
        if not _HOURS.match(str(span)):
            raise ValueError(f"{day}: expected a time range like \"09:00-17:00\", got {span!r}")
        start, end = span.split("-")
        if end <= start:
            raise ValueError(f"{day}: the range {span!r} ends before it starts")
    return value


class CalDav(_Model):
    caldav: str
    username: str | None = None
    password: str | None = None


class PracticeClinician(_Model):
    """One clinician of a group practice (group-practice.yaml). Conversations are assigned to
    them, and their notices follow; matching on the rest arrives with calendars (issue 13)."""

    id: str = Field(min_length=1, pattern=r"^[\w.-]+$")
    name: str
    email: Address | None = None  # her tasks and notices
    phone: str | None = None  # texts for her alerts
    accepting_new_clients: bool = True
    plans: list[str] | None = None  # ids of insurance.plans; absent: every practice plan
    services: list[Service] = []
    ages: tuple[int, int] | None = None
    languages: list[str] = ["en"]
    modalities: list[Modality] = []
    consultation_hours: dict[Day, str] = {}
    calendar: str | CalDav | None = None
    booking_url: str | None = None

    @field_validator("consultation_hours")
    @classmethod
    def _hours(cls, value: dict[str, str]) -> dict[str, str]:
        return _week(value)


class Payment(_Model):
    methods: list[str] = []
    collected: str | None = None
    cancellation_policy: str | None = None


class ReferralPartner(_Model):
    name: str
    serves: list[Service]
    phone: str | None = None
    email: str | None = None
    website: str | None = None


class Services(_Model):
    offered: list[Service] = []
    referral_partners: list[ReferralPartner] = []


class Crisis(_Model):
    resources: list[str] = Field(min_length=1)
    # The same resources in another reply language, e.g. {es: ["Llame o envíe un mensaje de texto al 988 ..."]}.
    translations: dict[str, list[str]] = {}


class Notify(_Model):
    email: Address | None = None
    sms: str | None = None


class Practice(_Model):
    name: str
    email: Address
    aliases: list[Address] = []
    phone: str | None = None
    website: str | None = None
    timezone: str = "UTC"
    notify: Notify = Notify()
    consultation: Consultation = Consultation()
    availability: Availability = Availability()
    insurance: Insurance = Insurance()
    payment: Payment = Payment()
    services: Services = Services()
    crisis: Crisis
    clinicians: list[PracticeClinician] = []

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"expected an IANA time zone such as America/Chicago, got {value!r}") from None
        return value

    @model_validator(mode="after")
    def _clinicians(self) -> Practice:
        ids = [c.id for c in self.clinicians]
        if len(set(ids)) != len(ids):
            raise ValueError(f"clinicians: each id must be used once, got {ids}")
        plans = {plan.id for plan in self.insurance.plans}
        for clinician in self.clinicians:
            unknown = sorted(set(clinician.plans or ()) - plans)
            if unknown:
                raise ValueError(f"clinicians: {clinician.id}: plans {unknown} are not among insurance.plans")
        return self

    def clinician(self, clinician_id: str | None) -> PracticeClinician | None:
        return next((c for c in self.clinicians if c.id == clinician_id), None)

    @property
    def own_addresses(self) -> frozenset[str]:
        return frozenset([self.email, *self.aliases])

    def is_own(self, address: str) -> bool:
        """The practice's own address, or one at its website's domain (the form mailer that sends
        "wordpress@" or "forms@" notifications): never a person to answer."""
        site = urlsplit(self.website).hostname if self.website else None
        domain = site.removeprefix("www.") if site else None
        return address in self.own_addresses or (domain is not None and address.rpartition("@")[2] == domain)


class Imap(_Model):
    host: str
    port: int = 993
    ssl: bool = True
    username: str
    password: str | None = None  # with auth: password
    auth: MailAuth = MailAuth.PASSWORD
    folder: str = "INBOX"
    idle: bool = True
    poll_seconds: float = Field(60, gt=0)

    @model_validator(mode="after")
    def _credentials(self) -> Imap:
        _one_way_in(self.auth, self.password, needs_password=True)
        return self


class Smtp(_Model):
    host: str
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    auth: MailAuth = MailAuth.PASSWORD
    timeout_seconds: float = Field(30, gt=0)

    @model_validator(mode="after")
    def _credentials(self) -> Smtp:
        _one_way_in(self.auth, self.password, needs_password=False)
        if self.auth == MailAuth.OAUTH2 and not self.username:
            raise ValueError("username: required with auth: oauth2 (the account the token is for)")
        return self


def _one_way_in(auth: MailAuth, password: str | None, needs_password: bool) -> None:
    if auth == MailAuth.PASSWORD and needs_password and password is None:
        raise ValueError("password: required with auth: password (or set auth: oauth2 and email.oauth2)")
    if auth == MailAuth.OAUTH2 and password is not None:
        raise ValueError("password: not used with auth: oauth2; remove it (the tokens are in email.oauth2)")


# The scopes each provider's mail needs, when email.oauth2.scopes does not say (msal adds
# offline_access itself, and refuses to be given it; Google's one scope covers IMAP and SMTP).
_MSAL_ASKS_ITSELF = frozenset({"offline_access", "openid", "profile"})
DEFAULT_SCOPES = {
    OAuthProvider.MICROSOFT: ("https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com/SMTP.Send"),
    OAuthProvider.GOOGLE: ("https://mail.google.com/",),
    OAuthProvider.GENERIC: (),
}


class OAuth2(_Model):
    """The mail account's tokens, for every `auth: oauth2` in email.imap and email.smtp."""

    provider: OAuthProvider
    client_id: str = Field(min_length=1)
    client_secret: str | None = None  # a public client (device code, a desktop app) has none
    tenant: str = "organizations"  # microsoft: the directory, e.g. harborlight.onmicrosoft.com
    token_url: str | None = None  # generic: required; others: overrides the provider's
    refresh_token: str | None = None  # else the one `responder connect` stored
    scopes: list[str] | None = None  # else the provider's mail scopes for the flow
    flow: OAuthFlow = OAuthFlow.DELEGATED
    service_account_file: Path | None = None  # google, flow app_only: the service account's JSON key

    @model_validator(mode="after")
    def _token_url(self) -> OAuth2:
        if self.provider == OAuthProvider.GENERIC and not self.token_url:
            raise ValueError("token_url: required with provider: generic")
        if self.token_url and urlsplit(self.token_url).scheme not in ("https", "http"):
            raise ValueError(f"token_url: expected an https URL, got {self.token_url!r}")
        if self.provider == OAuthProvider.MICROSOFT and (reserved := sorted(set(self.scopes or ()) & _MSAL_ASKS_ITSELF)):
            raise ValueError(f"scopes: {', '.join(reserved)} is asked by msal itself: leave it out")
        if self.flow == OAuthFlow.APP_ONLY:
            if self.provider == OAuthProvider.MICROSOFT and not self.client_secret:
                raise ValueError("client_secret: required with flow: app_only (the app's own credential)")
            if self.provider == OAuthProvider.MICROSOFT and self.tenant in ("organizations", "common", "consumers"):
                raise ValueError("tenant: flow app_only needs the practice's own directory, e.g. harborlight.onmicrosoft.com")
            if self.provider == OAuthProvider.GOOGLE and self.service_account_file is None:
                raise ValueError("service_account_file: required with flow: app_only (the service account's JSON key)")
            if self.provider == OAuthProvider.GENERIC:
                raise ValueError("flow: app_only is for microsoft and google; a generic provider refreshes a refresh_token")
        return self

    @property
    def scope_list(self) -> tuple[str, ...]:
        if self.scopes is not None:
            return tuple(self.scopes)
        if self.flow == OAuthFlow.APP_ONLY and self.provider == OAuthProvider.MICROSOFT:
            return ("https://outlook.office365.com/.default",)  # IMAP.AccessAsApp and SMTP.SendAsApp, as granted
        return DEFAULT_SCOPES[self.provider]


class Maildir(_Model):
    """A local mailbox pair: the embedded default that runs with no accounts at all."""

    inbox: Path | None = None  # watched like an IMAP folder; drop an .eml into it or its new/
    outbox: Path | None = None  # replies are written here instead of being sent over SMTP
    poll_seconds: float = Field(1, gt=0)


class Email(_Model):
    imap: Imap | None = None
    smtp: Smtp | None = None
    oauth2: OAuth2 | None = None
    maildir: Maildir | None = None
    # Larger mail (attachments, mostly) is recorded from its headers and left for a person:
    # never downloaded whole, parsed or answered.
    max_message_bytes: int = Field(25 * 1024 * 1024, gt=0)

    @property
    def oauth2_accounts(self) -> list[str]:
        """The usernames that sign in with email.oauth2 (IMAP's first, then SMTP's if another)."""
        servers = (self.imap, self.smtp)
        return list(dict.fromkeys(s.username for s in servers if s is not None and s.auth == MailAuth.OAUTH2 and s.username))

    @model_validator(mode="after")
    def _one_transport(self) -> Email:
        if self.smtp is not None and self.maildir is not None and self.maildir.outbox is not None:
            raise ValueError("email.smtp and email.maildir.outbox are both set: choose one way to send mail")
        for name, server in (("imap", self.imap), ("smtp", self.smtp)):
            if server is not None and server.auth == MailAuth.OAUTH2 and self.oauth2 is None:
                raise ValueError(f"email.{name}.auth is oauth2 but email.oauth2 is not set: give the provider and client_id")
        if self.oauth2 is not None and self.oauth2.refresh_token and len(accounts := self.oauth2_accounts) > 1:
            raise ValueError(f"email.oauth2.refresh_token is one account's, but email.imap and email.smtp sign in as {' and '.join(accounts)}:"
                             " leave it out and run `responder connect`, which signs in as each")
        return self


class Twilio(_Model):
    account_sid: str
    auth_token: str
    from_number: str
    api_base_url: str = "https://api.twilio.com"
    timeout_seconds: float = Field(15, gt=0)


class Sms(_Model):
    twilio: Twilio
    webhook_url: str | None = None  # the public URL Twilio posts to; signatures are checked against it
    poll: bool = False  # for practices without a public URL: fetch inbound texts from the REST API instead
    poll_seconds: float = Field(15, gt=0)

    @model_validator(mode="after")
    def _reachable(self) -> Sms:
        if self.webhook_url is None and not self.poll:
            raise ValueError("set webhook_url (the public URL Twilio posts to), or poll: true to fetch texts instead")
        return self


class Storage(_Model):
    url: str = "sqlite:///var/responder.db"
    # After this many days a message's words are purged and only the audit stays; none: keep all.
    retention_days: float | None = Field(None, ge=0)
    # How long a write waits for another process's lock (SQLite) before the round fails and is retried.
    lock_timeout_seconds: float = Field(30, gt=0)
    # Seal what people wrote before it is stored (responder/storage/seal.py); from the environment, e.g.
    # ${RESPONDER_STORAGE_KEY}. Comma-separated keys rotate: the first seals, all open.
    encryption_key: str | None = None

    @field_validator("encryption_key")
    @classmethod
    def _keys(cls, value: str | None) -> str | None:
        return None if value is None else seal.check_keys(value)


class Logging(_Model):
    format: Literal["text", "json"] = "text"  # json: one object per line, for a log shipper


class Server(_Model):
    host: str = "127.0.0.1"
    port: int = 8000


class Reply(_Model):
    mode: Annotated[Literal["auto", "approve", "off"], BeforeValidator(_mode)] = "off"


class Replies(_Model):
    new_inquiry: Reply = Reply(mode="auto")
    professional_referral: Reply = Reply(mode="approve")
    existing_client: Reply = Reply(mode="off")
    crisis: Reply = Reply(mode="auto")
    automated: Reply = Reply(mode="off")
    solicitation: Reply = Reply(mode="off")
    throttle_days: float = Field(7, ge=0)
    # The first run against a mailbox must not answer its whole history: what arrived more than
    # this many hours before the first run is recorded but not answered.
    first_run_window_hours: float = Field(24, ge=0)

    def mode(self, category: str) -> Action:
        return Action(getattr(self, category).mode)


class Approval(_Model):
    """Drafts that wait for a clinician (categories whose mode is approve)."""

    remind_after_minutes: float | None = Field(60, gt=0)  # remind practice.notify once a draft has waited this long
    fallback_after_minutes: float | None = Field(None, gt=0)  # then send the person a neutral acknowledgement
    imap_drafts: bool = False  # also put each email draft in the mailbox's Drafts folder, to send from any mail app


class Conversations(_Model):
    """What follows a person's first message (issue 12): later ones reach a human, never an auto-reply."""

    # A new message is told to practice.notify at once; more in the same conversation wait until this long after the last notice.
    notice_every_minutes: float = Field(10, ge=0)
    # A conversation with nothing new for this long is closed (a new message reopens it, and is answered as a first one).
    close_after_days: float = Field(30, gt=0)
    # Whether an emailed notice quotes what the person wrote; a texted one never does.
    notice_includes_text: bool = False


class Clinician(_Model):
    """Someone who signs in to the page. Without a role, admin: before roles, everyone who signed
    in saw everything, and an upgrade must not lock the practice owner out."""

    username: str = Field(min_length=1)
    password_hash: str = Field(pattern=r"^\$argon2")  # from `responder hash-password`
    name: str | None = None
    role: Role = Role.ADMIN
    clinician: str | None = None  # their id in practice.clinicians: a clinician sees what is assigned to it

    @model_validator(mode="after")
    def _linked(self) -> Clinician:
        if self.role == Role.CLINICIAN and self.clinician is None:
            raise ValueError(f"{self.username}: role clinician needs `clinician:`, their id in practice.clinicians")
        return self


class Web(_Model):
    """The clinicians' page under serve."""

    public_url: str | None = None  # how clinicians reach the page, for links in notices (default http://server.host:server.port)
    secret_key: str | None = Field(None, min_length=16)  # signs session cookies; set it, or sessions end when serve restarts
    session_hours: float = Field(12, gt=0)
    clinicians: list[Clinician] = []


class Classification(_Model):
    """Words a practice adds to the built-in rules, per category (matched case-insensitively)."""

    crisis: list[str] = []
    solicitation: list[str] = []
    professional_referral: list[str] = []
    existing_client: list[str] = []


class Config(_Model):
    practice: Practice
    email: Email | None = None
    sms: Sms | None = None
    storage: Storage = Storage()
    logging: Logging = Logging()
    templates: Path | None = None  # a YAML file of the practice's own templates, or a folder of .j2 files (replying/templates.py)
    server: Server = Server()
    replies: Replies = Replies()
    approval: Approval = Approval()
    conversations: Conversations = Conversations()
    web: Web = Web()
    classification: Classification = Classification()
    base_dir: Path = Path(".")

    @model_validator(mode="after")
    def _users_are_clinicians(self) -> Config:
        ids = {c.id for c in self.practice.clinicians}
        for user in self.web.clinicians:
            if user.clinician is not None and user.clinician not in ids:
                raise ValueError(f"web.clinicians: {user.username}: clinician {user.clinician!r} is not an id in practice.clinicians")
        names = [user.username for user in self.web.clinicians]
        if len(set(names)) != len(names):
            raise ValueError(f"web.clinicians: each username must be used once, got {names}")
        return self

    @model_validator(mode="after")
    def _mail_copies_need_a_mailbox(self) -> Config:
        if self.approval.imap_drafts and (self.email is None or self.email.imap is None):
            raise ValueError("approval.imap_drafts needs email.imap: the Drafts folder is in that mailbox")
        return self

    @property
    def domain(self) -> str:
        return self.practice.email.rpartition("@")[2]

    @property
    def page_url(self) -> str:
        """Where the clinicians' page is, for links in notices."""
        return (self.web.public_url or f"http://{self.server.host}:{self.server.port}").rstrip("/")

    @property
    def sends_email(self) -> bool:
        """Whether mail can leave: over SMTP or into the local outbox."""
        email = self.email
        return email is not None and (email.smtp is not None or (email.maildir is not None and email.maildir.outbox is not None))


def read_yaml(path: Path, what: str, error: type[ConfigError] = ConfigError) -> Any:
    """The YAML document at ``path`` (the configuration, a templates file), or ``error`` saying
    why it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as problem:
        raise error(f"{path}: cannot read the {what} ({problem.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as problem:
        raise error(f"{path}: not valid YAML: {problem}") from None


def load(path: str | os.PathLike[str], environ: dict[str, str] | None = None) -> Config:
    """Read, fill and validate the configuration at ``path``, or raise ConfigError saying why."""
    path = Path(path)
    data = read_yaml(path, "configuration")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    data = _fill(data, os.environ if environ is None else environ, ())
    base = path.resolve().parent
    data["base_dir"] = base
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{path}: " + "; ".join(_describe(e) for e in error.errors())) from None
    return _resolve_paths(config, base)


def _fill(value: Any, environ: dict[str, str] | os._Environ[str], where: tuple[str, ...]) -> Any:
    """Replace ${NAME} in every string with the environment variable NAME."""
    if isinstance(value, dict):
        return {key: _fill(item, environ, (*where, str(key))) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, environ, (*where, str(i))) for i, item in enumerate(value)]
    if isinstance(value, str):
        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                raise ConfigError(f"environment variable {name} is not set (used at {'.'.join(where)})")
            return environ[name]

        return _ENV.sub(substitute, value)
    return value


def _describe(error: Any) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"]
    if error["type"] == "missing":
        message = "required, but missing"
    elif error["type"] == "extra_forbidden":
        message = "not a known setting (misspelt?)"
    elif error["type"] == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        message = f"expected one of {expected}, got {error.get('input')!r}"
    return f"{key}: {message}"


def _resolve_paths(config: Config, base: Path) -> Config:
    """Make relative paths relative to the folder holding the configuration file."""
    updates: dict[str, Any] = {"storage": config.storage.model_copy(update={"url": _sqlite_url(config.storage.url, base)})}
    if config.templates is not None:
        updates["templates"] = base / config.templates
    email = config.email
    if email is not None and email.maildir is not None:
        email = email.model_copy(update={"maildir": email.maildir.model_copy(update={
            "inbox": None if email.maildir.inbox is None else base / email.maildir.inbox,
            "outbox": None if email.maildir.outbox is None else base / email.maildir.outbox,
        })})
    if email is not None and email.oauth2 is not None and email.oauth2.service_account_file is not None:
        email = email.model_copy(update={"oauth2": email.oauth2.model_copy(update={"service_account_file": base / email.oauth2.service_account_file})})
    if email is not None:
        updates["email"] = email
    return config.model_copy(update=updates)


def _sqlite_url(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == "sqlite:///:memory:" or url[len(prefix):].startswith("/"):
        return url
    return prefix + str(base / url[len(prefix):])
