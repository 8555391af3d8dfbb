"""The reply templates as written, read into one form: the Jinja2 source of each part of each kind,
per language and channel, and where it was written (for errors that name the file and the key).

responder ships its templates as YAML, one file per language (templates/en.yaml, es.yaml). A
practice's ``templates:`` names a YAML file of the same shape (other languages under their own
key, ``es:``) or a folder of ``.j2`` files with ``{% block subject %}``/``{% block body %}``, the
older way, which is read into the same form. A kind written there replaces the shipped kind whole.
``responder templates export`` writes the shipped ones back out in that shape, to start from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from jinja2 import Environment, Template, TemplateSyntaxError, nodes

from ..config import ConfigError, read_yaml
from ..model import Channel


class Name(StrEnum):
    """A kind of message a template writes (the contract's kinds: ``email.first_reply``)."""

    FIRST_REPLY = "first_reply"
    REFER_OUT = "refer_out"
    REFERRAL_THANKS = "referral_thanks"
    ACKNOWLEDGEMENT = "acknowledgement"
    CRISIS = "crisis"
    CRISIS_ALERT = "crisis_alert"
    HELP = "help"
    DRAFT_NOTICE = "draft_notice"
    FALLBACK = "fallback"
    TASK = "task"
    TASK_CLIENT_MESSAGE = "task_client_message"
    TASK_REFERRAL = "task_referral"
    TASK_CHECK_PERSON = "task_check_person"
    TASK_REACH_OUT = "task_reach_out"
    CONVERSATION_NOTICE = "conversation_notice"


class Part(StrEnum):
    SUBJECT = "subject"
    BODY = "body"


# Every kind, per channel, in the order they are exported and checked.
KINDS: dict[Channel, tuple[Name, ...]] = {
    Channel.EMAIL: (Name.FIRST_REPLY, Name.REFER_OUT, Name.REFERRAL_THANKS, Name.ACKNOWLEDGEMENT, Name.CRISIS, Name.CRISIS_ALERT,
                    Name.DRAFT_NOTICE, Name.FALLBACK, Name.TASK_CLIENT_MESSAGE, Name.TASK_REFERRAL, Name.TASK_CHECK_PERSON,
                    Name.TASK_REACH_OUT, Name.CONVERSATION_NOTICE),
    Channel.SMS: (Name.FIRST_REPLY, Name.REFER_OUT, Name.REFERRAL_THANKS, Name.ACKNOWLEDGEMENT, Name.CRISIS, Name.CRISIS_ALERT,
                  Name.HELP, Name.DRAFT_NOTICE, Name.FALLBACK, Name.TASK, Name.CONVERSATION_NOTICE),
}
# A text has no subject.
PARTS: dict[Channel, tuple[Part, ...]] = {Channel.EMAIL: (Part.SUBJECT, Part.BODY), Channel.SMS: (Part.BODY,)}
# Read by the clinicians (practice.notify), in English; the other kinds go to the person who wrote.
FOR_CLINICIANS = frozenset({Name.CRISIS_ALERT, Name.DRAFT_NOTICE, Name.TASK, Name.TASK_CLIENT_MESSAGE, Name.TASK_REFERRAL, Name.TASK_CHECK_PERSON,
                            Name.TASK_REACH_OUT, Name.CONVERSATION_NOTICE})
# Written in the person's language: all that goes to them but the answer to HELP, a keyword in no language.
LOCALIZED = frozenset(set(Name) - FOR_CLINICIANS - {Name.HELP})
# The languages replies are written in (triage/facts/language.py tells them apart); each has its
# shipped file, templates/<language>.yaml. English is the top level of a practice's file.
ENGLISH = "en"
LANGUAGES = (ENGLISH, "es")

_HEADER = """\
# responder's reply templates as shipped (`responder templates export`). To change some, keep
# them in a file of your own and name it in the configuration (templates: ./my-templates.yaml):
# a kind written there replaces the shipped one whole; the kinds you leave out stay as shipped.
# Every value is Jinja2 source. A text (sms) has only a body; es: holds the Spanish replies.
"""


class TemplateError(ConfigError):
    """Templates that cannot be used: the message names the file, the key path and why."""


class Key(NamedTuple):
    language: str
    channel: Channel
    name: Name

    @property
    def path(self) -> str:
        """Where a practice's YAML file writes this kind: email.first_reply, es.sms.crisis."""
        return ".".join((*([self.language] if self.language != ENGLISH else []), self.channel, self.name))


# Every template there can be, in the order they are exported, checked and shown.
KEYS = tuple(Key(language, channel, name) for language in LANGUAGES for channel, names in KINDS.items() for name in names
             if language == ENGLISH or name in LOCALIZED)


@dataclass(frozen=True)
class Written:
    """One kind of message as written: the Jinja2 source of its parts, and where each part is
    written (``practice.yaml: es.email.first_reply.body``, ``email/first_reply.j2 block body``)."""

    parts: Mapping[Part, str]
    origin: str  # the kind's place: "practice.yaml: email.first_reply", "email/first_reply.j2"
    places: Mapping[Part, str]  # every part the channel has, written or missing


@dataclass(frozen=True)
class Compiled:
    written: Written
    templates: Mapping[Part, Template]


@cache
def shipped() -> dict[Key, Written]:
    """The templates responder ships, one YAML file per language."""
    folder = files("responder.templates")
    found: dict[Key, Written] = {}
    for language in LANGUAGES:
        entry = folder / f"{language}.yaml"
        found |= _channels(yaml.safe_load(entry.read_text(encoding="utf-8")), str(entry), language, "")
    return found


def load(override: Path | None) -> dict[Key, Written]:
    """The shipped templates, with each kind a practice wrote (a YAML file or a .j2 folder) in its place."""
    if override is None:
        return shipped()
    return shipped() | (_folder(override) if override.is_dir() else _file(override))


def compile_all(env: Environment, written: Mapping[Key, Written]) -> dict[Key, Compiled]:
    """Every part compiled in ``env``; a part that does not compile is a TemplateError naming it."""
    found: dict[Key, Compiled] = {}
    for key, kind in written.items():
        compiled: dict[Part, Template] = {}
        for part, source in kind.parts.items():
            try:
                compiled[part] = env.from_string(source)
            except TemplateSyntaxError as error:
                raise TemplateError(f"{kind.places[part]}: does not compile: {error.message} (line {error.lineno} of the template)") from None
        found[key] = Compiled(kind, compiled)
    return found


def export(written: Mapping[Key, Written]) -> str:
    """One YAML document in the shape a practice's file takes: English at the top level, every
    other language under its own key. Read back, it gives the very same source."""
    document: dict[str, Any] = {}
    for key in (key for key in KEYS if key in written):
        level = document if key.language == ENGLISH else document.setdefault(key.language, {})
        level.setdefault(key.channel.value, {})[key.name.value] = {part.value: source for part, source in written[key].parts.items()}
    return _HEADER + dump(document)


def dump(document: Mapping[str, Any]) -> str:
    """YAML with every multi-line value as a literal block, so a template reads as it is written."""
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000, default_flow_style=False)


def _file(path: Path) -> dict[Key, Written]:
    """A practice's YAML file: English at the top level, other languages under their key."""
    data = read_yaml(path, "templates", TemplateError)
    if data is None:
        return {}
    top = _mapping(data, path, "")
    if ENGLISH in top:
        raise TemplateError(f"{path}: {ENGLISH}: English templates are written at the top level (email:, sms:)")
    found = _channels({key: value for key, value in top.items() if key not in LANGUAGES}, str(path), ENGLISH, "")
    for language in (key for key in top if key in LANGUAGES):
        found |= _channels(top[language], str(path), language, f"{language}.")
    return found


def _channels(data: Any, file: str, language: str, prefix: str) -> dict[Key, Written]:
    """The kinds of one language: {channel: {kind: {part: source}}}."""
    found: dict[Key, Written] = {}
    for channel, kinds in _mapping(data, file, prefix.rstrip(".")).items():
        if channel not in KINDS:
            others = "" if prefix else f" or a language replies are written in ({', '.join(LANGUAGES[1:])})"
            raise TemplateError(f"{file}: {prefix}{channel}: not a channel ({', '.join(KINDS)}){others}")
        channel = Channel(channel)
        known = [key.name for key in KEYS if key[:2] == (language, channel)]
        for name, parts in _mapping(kinds, file, f"{prefix}{channel}").items():
            where = f"{prefix}{channel}.{name}"
            if name not in known:
                written_in = "" if language == ENGLISH else f" in {language}"
                raise TemplateError(f"{file}: {where}: not a kind responder sends by {channel}{written_in} (one of: {', '.join(known)})")
            for part, source in _mapping(parts, file, where).items():
                if part not in PARTS[channel]:
                    raise TemplateError(f"{file}: {where}.{part}: not a part of an {channel} template (one of: {', '.join(PARTS[channel])})")
                if not isinstance(source, str):
                    raise TemplateError(f"{file}: {where}.{part}: expected Jinja2 source as text")
            found[Key(language, channel, Name(name))] = Written(
                {Part(part): source for part, source in parts.items()}, f"{file}: {where}", {part: f"{file}: {where}.{part}" for part in PARTS[channel]}
            )
    return found


def _mapping(value: Any, file: str | Path, where: str) -> dict[Any, Any]:
    if not isinstance(value, dict):
        got = "nothing" if value is None else type(value).__name__
        raise TemplateError(f"{file}: {where or '(top level)'}: expected a mapping, got {got}")
    return value


def _folder(folder: Path) -> dict[Key, Written]:
    """A folder of .j2 files, laid out as responder's own used to be: email/first_reply.j2,
    es/sms/crisis.j2. Other files are left alone: a template may include them."""
    found: dict[Key, Written] = {}
    for key in KEYS:
        relative = key.path.replace(".", "/") + ".j2"
        if (folder / relative).is_file():
            found[key] = _j2(folder / relative, relative, key.channel)
    return found


def _j2(path: Path, relative: str, channel: Channel) -> Written:
    """One .j2 file's blocks as parts. Only the blocks are read, as they always were: text
    outside them never reached a reply."""
    try:
        text = path.read_text(encoding="utf-8")
        tree = _PARSER.parse(text)
    except OSError as error:
        raise TemplateError(f"{relative}: cannot read the template ({error.strerror})") from None
    except TemplateSyntaxError as error:
        raise TemplateError(f"{relative}: does not compile: {error.message} (line {error.lineno})") from None
    if tree.find(nodes.Extends) is not None:
        raise TemplateError(f"{relative}: {{% extends %}} is not read: write both blocks here, or the kind in a YAML file")
    blocks = _blocks(text)
    return Written({part: blocks[part] for part in PARTS[channel] if part in blocks}, relative,
                   {part: f"{relative} block {part}" for part in PARTS[channel]})


# Only to find a .j2 file's structure; its blocks are compiled later, in the sandbox.
_PARSER = Environment()
_TAGS = re.compile(r"""
    \{\#.*?\#\}                                                      # a comment
  | \{%[-+]?\s*raw\s*[-+]?%\}.*?\{%[-+]?\s*endraw\s*[-+]?%\}         # text taken as it is
  | \{%[-+]?\s*(?P<tag>block|endblock)\b(?P<rest>.*?)[-+]?%\}
""", re.DOTALL | re.VERBOSE)


def _blocks(text: str) -> dict[str, str]:
    """The source of each outermost block, by name."""
    found: dict[str, str] = {}
    depth, name, start = 0, "", 0
    for match in _TAGS.finditer(text):
        if match["tag"] == "block":
            if depth == 0:
                name, start = match["rest"].split()[0], match.end()
            depth += 1
        elif match["tag"] == "endblock":
            depth -= 1
            if depth == 0:
                found[name] = text[start:match.start()]
    return found


# YAML's line breaks, and what a literal block holds exactly: printable characters, no line break but \n.
_BREAKS = re.compile(r"[\n\r\x85\u2028\u2029]")
_LITERAL = re.compile(r"[\t\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*")


class _Dumper(yaml.SafeDumper):
    """Writes a literal block wherever the representer asks for one. PyYAML's own choice refuses
    one for a line ending in spaces and quotes the whole template instead, though YAML keeps
    those spaces; the representer asks only where a literal block holds the text exactly."""

    def choose_scalar_style(self) -> str:
        if isinstance(self.event, yaml.ScalarEvent) and self.event.style == "|":
            return "|"
        return super().choose_scalar_style()


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    """A literal block for a template of several lines; double quotes, which escape every
    character, for any other text with a line break (PyYAML's single quotes turn a lone NEL
    into a space); PyYAML's own choice for the rest."""
    if _BREAKS.search(text) is None:
        style = None
    elif "\n" in text and _LITERAL.fullmatch(text) is not None:
        style = "|"
    else:
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _text)
