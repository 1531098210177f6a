"""Building messages: plain text plus HTML when templates/email/<name>.html exists.

User text reaches headers only through `one_line()`, which turns every kind of line
break and control character into a space, and through email.message.EmailMessage,
which refuses CR/LF in header values on top of that: a username or a title can
never start a header of its own.
"""

from __future__ import annotations

import binascii
import random
import unicodedata
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage, Message, MIMEPart
from email.parser import BytesParser
from email.policy import Policy
from email.utils import format_datetime, make_msgid, parseaddr
from functools import lru_cache
from urllib.parse import urlsplit

from flask import current_app, render_template
from jinja2 import Template, TemplateNotFound

from ..models import utcnow
from .links import url_for_mail


class _HeaderClasses(HeaderRegistry):
    """The standard header classes, each made once.

    HeaderRegistry builds a new class for every header it parses (type() on each
    call): a tenth of the time it took to build a digest.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        if key not in self._made:
            self._made[key] = super().__getitem__(name)
        return self._made[key]


# 7bit: bodies that are not ASCII go quoted-printable or base64, so a stored message
# is plain ASCII that any SMTP server takes as it is, with or without 8BITMIME.
MAIL_POLICY = policy.default.clone(cte_type="7bit", header_factory=_HeaderClasses())
# On the wire (and in the outbox table) lines end with CRLF, as RFC 5322 says.
WIRE_POLICY = MAIL_POLICY.clone(linesep="\r\n")

# Characters that must never reach a header: controls (CR, LF, VT, FF, NEL...),
# format characters (direction overrides, zero-width ones) and the Unicode line
# and paragraph separators.
_NOT_IN_HEADERS = {"Cc", "Cf", "Zl", "Zp"}


def one_line(text: str) -> str:
    """User text made safe for a header: one line, single spaces, nothing invisible."""
    visible = "".join(
        " " if unicodedata.category(char) in _NOT_IN_HEADERS else char for char in text
    )
    return " ".join(visible.split())


def _recipient(to: str | tuple[str, str]) -> Address:
    """An address for To, optionally with a display name (folded to one line)."""
    display_name, address = to if isinstance(to, tuple) else ("", to)
    if not address or any(
        char.isspace() or unicodedata.category(char) in _NOT_IN_HEADERS for char in address
    ):
        raise ValueError(f"not an email address: {address!r}")
    try:
        return Address(display_name=one_line(display_name), addr_spec=address)
    except (ValueError, IndexError, HeaderParseError) as error:  # the parser's complaints
        raise ValueError(f"not an email address: {address!r}") from error


class _VerbatimHeader(str):
    """A header value written out exactly as given, on the lines we chose.

    The default policy folds a long unstructured header by turning it into
    encoded words, which mangles the URLs of List-Unsubscribe (every real one is
    longer than 78 characters). Only values built here from settings and signed
    tokens are written this way, and they are checked to be printable ASCII.
    """

    name: str
    lines: list[str]

    def __new__(cls, name: str, lines: list[str]) -> _VerbatimHeader:
        if any(not line.isascii() or not line.isprintable() for line in lines):
            raise ValueError(f"{name} must be printable ASCII: {lines!r}")
        value = super().__new__(cls, " ".join(lines))
        value.name, value.lines = name, lines
        return value

    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: " + f"{policy.linesep} ".join(self.lines) + policy.linesep


def _set_ascii(message: MIMEPart, name: str, value: str) -> None:
    """Set a header built here from settings and constants, without the email
    package's header parser when it is short printable ASCII (the parser took a
    third of the time it took to build a digest). Anything else is parsed and folded
    as usual. Never for member text: that goes through one_line and the parser."""
    if value.isascii() and value.isprintable() and len(name) + 2 + len(value) <= 78:
        message[name] = _VerbatimHeader(name, [value])
    else:
        message[name] = value


@lru_cache(maxsize=4)
def _from_header(mail_from: str):
    """The From header parsed once per setting; header objects are immutable, so every
    message can share it."""
    return MAIL_POLICY.header_factory("From", mail_from)


def _host(config) -> str:
    return urlsplit(config["BASE_URL"]).hostname or "localhost"


def _list_id(config, list_id_kind: str | None) -> str:
    """RFC 2919: a description and a label under the forum's own host name."""
    name = one_line(config["SITE_NAME"]) or "Kindred"
    label = f"kindred.{_host(config)}"
    if list_id_kind:
        name, label = f"{name} {list_id_kind}", f"{list_id_kind}.{label}"
    description = (
        name
        if all(char.isalnum() or char in " -_." for char in name)
        else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    )
    return f"{description} <{label}>"


def unsubscribe_address(config) -> str:
    return config["MAIL_UNSUBSCRIBE_ADDRESS"] or parseaddr(config["MAIL_FROM"])[1]


def _html_template(name: str) -> Template | None:
    try:
        return current_app.jinja_env.get_template(f"email/{name}.html")
    except TemplateNotFound as error:
        if error.name != f"email/{name}.html":  # a template it includes is missing: a bug
            raise
        return None


def build_message(
    to: str | tuple[str, str],
    subject: str,
    template: str,
    *,
    unsubscribe_url: str | None = None,
    list_id_kind: str | None = None,
    **context,
) -> EmailMessage:
    """Render templates/email/<template>.txt, and .html as an alternative when it exists.

    `to` is an address, or (display name, address). With `unsubscribe_url`
    (absolute, https in production) the message carries List-Unsubscribe with it
    and a mailto, List-Unsubscribe-Post for one-click (RFC 8058), and the link in
    the footer of both parts. Works outside a request too (the CLI).
    """
    config = current_app.config
    message = _with_headers(to, subject, unsubscribe_url, list_id_kind)
    context.setdefault("site_name", config["SITE_NAME"])
    context.setdefault("base_url", config["BASE_URL"])
    context.setdefault("help_url", url_for_mail("pages.get_help"))
    context.setdefault("subject", one_line(subject))
    context["unsubscribe_url"] = unsubscribe_url
    text_part = _text_part(render_template(f"email/{template}.txt", **context), "plain")
    html = _html_template(template)
    _set_ascii(message, "MIME-Version", "1.0")
    if html is None:
        for name, value in text_part.items():
            message[name] = value
        message.set_payload(text_part.get_payload())
    else:
        # "=_" cannot occur in quoted-printable text, so the boundary never clashes; the
        # rest need not be secret (the secrets module read the kernel's random source,
        # which could stall a digest run).
        _set_ascii(
            message,
            "Content-Type",
            f'multipart/alternative; boundary="=_{random.getrandbits(96):024x}"',
        )
        message.set_payload([text_part, _text_part(render_template(html, **context), "html")])
    return message


def _with_headers(
    to: str | tuple[str, str], subject: str, unsubscribe_url: str | None, list_id_kind: str | None
) -> EmailMessage:
    """A new message with its envelope headers, and List-Unsubscribe when there is a link."""
    config = current_app.config
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = _from_header(config["MAIL_FROM"])
    message["To"] = _recipient(to)
    message["Subject"] = one_line(subject)
    _set_ascii(message, "Date", format_datetime(utcnow()))
    _set_ascii(message, "Message-ID", make_msgid(domain=_host(config)))
    _set_ascii(message, "List-Id", _list_id(config, list_id_kind))
    if unsubscribe_url:
        mailto = f"mailto:{unsubscribe_address(config)}?subject=unsubscribe"
        message["List-Unsubscribe"] = _VerbatimHeader(
            "List-Unsubscribe", [f"<{unsubscribe_url}>,", f"<{mailto}>"]
        )
        _set_ascii(message, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    return message


def _text_part(text: str, subtype: str) -> MIMEPart:
    """A UTF-8 text part, quoted-printable (ASCII on the wire, readable in the raw).

    Encoded with binascii rather than set_content: the email package's own
    quoted-printable encoder is pure Python and took a third of a digest's time.
    """
    part = MIMEPart(policy=MAIL_POLICY)
    _set_ascii(part, "Content-Type", f'text/{subtype}; charset="utf-8"')
    _set_ascii(part, "Content-Transfer-Encoding", "quoted-printable")
    part.set_payload(binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii"))
    return part


def as_bytes(message: EmailMessage) -> bytes:
    """The message as it goes over SMTP (and is kept in the outbox): CRLF line ends.

    Messages from build_message are written out here directly: their parts are
    already ASCII, encoded and with a boundary, and the email package's generator
    (which rewrites every line one by one) took a fifth of a digest's time.
    Anything else goes through the generator.
    """
    parts = message.get_payload()
    if not isinstance(parts, list):
        if not isinstance(parts, str) or not parts.isascii():
            return message.as_bytes(policy=WIRE_POLICY)
        return _head(message) + b"\r\n" + _crlf(parts)
    boundary = message.get_boundary()
    ready = [
        (part, body)
        for part in parts
        if isinstance(part, Message) and (body := _ascii_body(part)) is not None
    ]
    if boundary is None or len(ready) < len(parts):
        return message.as_bytes(policy=WIRE_POLICY)
    delimiter = b"--" + boundary.encode("ascii")
    chunks = [_head(message)]
    for part, body in ready:
        chunks += [b"\r\n", delimiter, b"\r\n", _head(part), b"\r\n", _crlf(body)]
    chunks += [b"\r\n", delimiter, b"--\r\n"]
    return b"".join(chunks)


def _ascii_body(part: Message) -> str | None:
    """A part's body when it is already ASCII text ready to be written out, else None."""
    body = part.get_payload()
    return body if isinstance(body, str) and body.isascii() else None


def _head(message: Message) -> bytes:
    return b"".join(WIRE_POLICY.fold_binary(name, value) for name, value in message.items())


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("ascii")


def parse(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)
