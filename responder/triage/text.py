"""Plain text out of HTML, and what a person wrote this time out of a reply thread."""

from __future__ import annotations

import re
import warnings

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, NavigableString

_FIELD_LABEL = 40  # a two-cell row whose first cell is this short is a label and its value
_BLOCKS = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "blockquote", "pre", "hr")

# Lines where an earlier message begins inside a reply: everything from there on is quoted.
_QUOTE_HEADERS = re.compile(
    r"""^\s*(
        On\s.{0,200}\swrote:\s*$                     # Gmail, Apple Mail, Thunderbird
      | El\s.{0,200}\sescribió:\s*$                   # the same in Spanish
      | -{2,}\s*Original\s+Message\s*-{2,}            # Outlook (older)
      | -{2,}\s*Mensaje\s+original\s*-{2,}
      | _{10,}\s*$                                    # Outlook's rule before the quoted header block
      | From:\s.+\s*$(?=\n\s*(Sent|Date|De|Enviado):) # Outlook's quoted header block
      | (?P<forward>Begin\s+forwarded\s+message: | -{2,}\s*Forwarded\s+message\s*-{2,})
    )""",
    re.IGNORECASE | re.MULTILINE | re.VERBOSE,
)
_SIGNATURE = re.compile(r"^-- ?$", re.MULTILINE)
# A forward (the quote header's `forward` group), unlike a reply, carries what the sender wants
# read: "I sent the message below to another practice", "my wife asked me to send this along".
# Its header block is set aside.
_FORWARDED_HEADERS = re.compile(r"\A(?:[ \t]*(?:(?:From|De|Date|Fecha|Sent|Enviado|Subject|Asunto|To|Para|Cc|Reply-To):.*)?\n)*", re.I)


# A line break inside a sentence (hard-wrapped mail: "He is\n52."): the next line goes on in
# lower case, a number or a parenthesis, and the line before ended mid-sentence.
_WRAPPED = re.compile(r"(?<=[^\n.!?:;])[ \t]*\n(?=[ \t]*[a-z0-9(])")


def unwrap(text: str) -> str:
    """Sentences joined across the line breaks a mail program put inside them, so a rule reads a
    sentence whole; paragraphs, list lines and a form's "Field:" lines stay apart."""
    return _WRAPPED.sub(" ", text)


def html_to_text(html: str) -> str:
    """Readable text of an HTML body; quoted earlier messages become '> ' lines."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(html, "html.parser")
    for hidden in soup(["script", "style", "head", "title"]):
        hidden.decompose()
    for quote in reversed(soup.find_all("blockquote")):
        quoted = quote.get_text("\n")
        quote.replace_with(NavigableString("\n" + "\n".join("> " + line for line in quoted.splitlines()) + "\n"))
    for row in soup.find_all("tr"):
        # A form's table reads as its fields: "Email: a@example.com", not "Emaila@example.com";
        # a label on a row of its own, spanning the table (Gravity Forms), takes its colon too.
        cells = row.find_all(("td", "th"), recursive=False)
        if len(cells) == 1 and cells[0].get("colspan"):
            label = cells[0].get_text(" ", strip=True)
            if 0 < len(label) <= _FIELD_LABEL and not label.endswith(":"):
                cells[0].append(NavigableString(":"))
        for cell in cells[:-1]:
            label = cell.get_text(" ", strip=True)
            field = len(cells) == 2 and 0 < len(label) <= _FIELD_LABEL and not label.endswith(":")
            cell.insert_after(NavigableString(": " if field else " "))
    for element in soup.find_all(_BLOCKS):
        element.insert_before(NavigableString("\n"))
        element.insert_after(NavigableString("\n"))
    text = soup.get_text()
    lines = [" ".join(line.replace("\xa0", " ").split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def fresh_text(text: str) -> str:
    """The part of a message its sender wrote this time: no quoted lines, earlier messages or
    signature, so an old message in the thread cannot decide how this one is read; but a message
    forwarded is read with the note around it."""
    cut = _QUOTE_HEADERS.search(text)
    if cut and cut.group("forward"):
        forwarded = text[cut.end():].split("\n", 1)[-1]
        return "\n\n".join(filter(None, (fresh_text(text[: cut.start()]), fresh_text(_FORWARDED_HEADERS.sub("", forwarded, count=1)))))
    if cut:
        text = text[: cut.start()]
    signature = _SIGNATURE.search(text)
    if signature:
        text = text[: signature.start()]
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip()
