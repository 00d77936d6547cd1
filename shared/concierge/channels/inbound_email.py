"""Email in through Amazon SES receiving, and the threaded reply back out through SES.

A receipt rule stores the raw message in S3 (S3 action, key `inbound/<SES message id>`) and then invokes
ingest (Lambda action). The Lambda event carries SES's SPF/DKIM/DMARC/virus verdicts but not the body, so
`SesInbound` reads the raw message back, keeps the attachments next to it and turns it into an
`InboundMessage`: the customer's own words, without the quoted history and signature every mail client
appends, because those would make the agent answer last week's question again.

Only the standard library's `email` package parses mail here: it handles MIME, charsets and transfer
encodings, and a parser dependency in the Lambda layer would buy nothing.

Limits, chosen so one email cannot flood the attachments bucket or the turn API:
- at most `MAX_ATTACHMENTS` attachments are kept, in the order they appear; later ones are skipped;
- an attachment over `MAX_ATTACHMENT_BYTES` is skipped (not stored, not listed, nothing logged);
- the text is cut at a word boundary to `MAX_TEXT_CHARS`, the turn API's cap, rather than rejected.
"""

from __future__ import annotations

import itertools
import mimetypes
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid, parseaddr
from html.parser import HTMLParser
from typing import Any, cast

from concierge.channels.inbound import Attachment, InboundMessage
from concierge.conversation.api import Channel
from concierge.platform.errors import BadRequest

MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_TEXT_CHARS = 4000
MAX_FILENAME_CHARS = 100
VERIFIED_BY = "ses:spf+dkim"

StoreAttachment = Callable[[str, str, bytes], str]


class MalformedEmail(BadRequest):
    code = "malformed_email"


class EmailNotFound(BadRequest):
    code = "email_not_found"


# --- sender verification -----------------------------------------------------------------------------------------


def _verdict(receipt: dict[str, Any], name: str) -> str | None:
    verdict = receipt.get(name)
    return verdict.get("status") if isinstance(verdict, dict) else None


def domain_of(address: str | None) -> str:
    """The domain of an address or a From header's value, lower-case (empty when it has none)."""
    return parseaddr(address or "")[1].rpartition("@")[2].strip().lower().rstrip(".")


def aligned(domain: str, from_domain: str) -> bool:
    """DMARC's relaxed alignment, read without a public-suffix list: the same domain, or one a subdomain of the
    other (bounces.shop.example with shop.example). Nobody sends from a public suffix itself, so "co.uk" never
    stands for a From domain."""
    return bool(domain and from_domain) and (
        domain == from_domain or domain.endswith("." + from_domain) or from_domain.endswith("." + domain)
    )


_AUTH_DKIM = re.compile(r"\bdkim=pass\b[^;]*?\bheader\.(?:d=|i=[^@\s;]*@)([^\s;]+)", re.IGNORECASE)


def _dkim_domains(mail: dict[str, Any]) -> set[str]:
    """The domains whose DKIM signatures SES verified, read from the Authentication-Results header SES adds above
    the mail's own headers (the first one). A DKIM-Signature header proves nothing by itself (anyone can write one,
    unsigned), and neither does an Authentication-Results the sender wrote further down into the mail."""
    for header in mail.get("headers") or []:
        if str(header.get("name", "")).lower() == "authentication-results":
            value = str(header.get("value", ""))
            if not value.lower().startswith("amazonses.com"):
                return set()
            return {m.group(1).lower().rstrip(".") for m in _AUTH_DKIM.finditer(value)}
    return set()


def sender_verified(receipt: dict[str, Any], mail: dict[str, Any] | None = None) -> tuple[bool, str | None]:
    """Whether SES proved the From domain sent this mail, which is what lets ingest link it to a customer.

    As DMARC defines it: SPF or DKIM passed *for a domain aligned with the From domain* — the envelope sender's
    domain for SPF, the signing domain (`d=`) for DKIM. A pass for some other domain proves nothing about the From
    address (anyone can pass SPF and DKIM for their own domain and write someone else's address in From). An
    explicit DMARC or virus FAIL is never verified; DMARC GRAY (no policy published) is common for small domains and
    does not count against. Without the record's mail (headers and envelope), nothing can be aligned: unverified.
    """
    if (
        mail is None
        or _verdict(receipt, "dmarcVerdict") in (None, "FAIL")
        or _verdict(receipt, "virusVerdict") in (None, "FAIL")
    ):
        return False, None
    common = mail.get("commonHeaders") or {}
    from_domain = domain_of((common.get("from") or [""])[0])
    spf = _verdict(receipt, "spfVerdict") == "PASS" and aligned(
        domain_of(mail.get("source") or common.get("returnPath")), from_domain
    )
    dkim = _verdict(receipt, "dkimVerdict") == "PASS" and any(aligned(d, from_domain) for d in _dkim_domains(mail))
    if spf and dkim:
        return True, VERIFIED_BY
    if spf or dkim:
        return True, "ses:spf-aligned" if spf else "ses:dkim-aligned"
    return False, None


# --- the customer's own words --------------------------------------------------------------------------------------

# "On Mon, 3 Jun 2024 at 10:12, Name <a@b> wrote:" (Gmail, Apple Mail, Thunderbird) and the same in a few
# languages. Every client puts a date (a digit) or a comma before the name, which keeps a customer's own
# "On Monday my friend wrote:" from being taken for the start of the quote.
_ATTRIBUTION = re.compile(
    r"^(?:On|Le|Am|El|Il|Op|Em)\s(?=.*[\d,]).*\b(?:wrote|a écrit|schrieb|escribió|ha scritto|schreef|geschreven"
    r"|escreveu)\b.*:$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine)\s*-{2,}$", re.IGNORECASE
)
_HEADER_FROM = re.compile(r"^\*?(?:From|Von|De)\s?:\*?\s*\S", re.IGNORECASE)
_HEADER_SENT = re.compile(r"^\*?(?:Sent|Date|Gesendet|Envoyé|Datum)\s?:", re.IGNORECASE)
_FORWARDED = re.compile(r"(?:Forwarded message|Begin forwarded message|Weitergeleitete Nachricht)", re.IGNORECASE)
_SEPARATOR = re.compile(r"^[_\-=]{5,}$")
_SIGN_OFF = re.compile(
    r"^(?:Sent from my (?:iPhone|iPad|Android|Samsung|Galaxy|Pixel|BlackBerry|mobile|phone|smartphone|tablet)\b.{0,60}"
    r"|Sent from (?:Outlook|Mail for Windows|Yahoo Mail|Proton ?Mail)\b.{0,60}"
    r"|Get Outlook for (?:iOS|Android)"
    r"|Von meinem iPhone gesendet|Envoyé de mon iPhone|Enviado desde mi iPhone)$",
    re.IGNORECASE,
)
_ATTRIBUTION_MAX_LINES = 3  # Gmail wraps a long attribution line in the plain-text part


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _header_block_length(lines: list[str], start: int) -> int:
    """Lines from a "From: ... Sent: ..." block (Outlook) to the blank line that ends it; 0 when there is none.

    A forwarded message uses the same block on purpose (the customer wants us to read it), so a block right
    after a "Forwarded message" marker is not a reply header.
    """
    if not _HEADER_FROM.match(lines[start]):
        return 0
    window = lines[start + 1 : start + 4]
    if not any(_HEADER_SENT.match(line) for line in window):
        return 0
    previous = next((line for line in reversed(lines[:start]) if line.strip()), "")
    if _FORWARDED.search(previous):
        return 0
    end = start + 1
    while end < len(lines) and lines[end].strip():
        end += 1
    return end - start


def _reply_header_length(lines: list[str], start: int) -> int:
    """How many lines of a reply header ("On ... wrote:", "-----Original Message-----", Outlook block) start here."""
    line = lines[start].strip()
    if _ORIGINAL_MESSAGE.match(line):
        return 1
    for span in range(1, _ATTRIBUTION_MAX_LINES + 1):
        joined = " ".join(part.strip() for part in lines[start : start + span])
        if start + span <= len(lines) and _ATTRIBUTION.match(joined):
            return span
    return _header_block_length(lines, start)


def _without_trailing_separators(lines: list[str]) -> list[str]:
    """Outlook puts a line of underscores above the quoted header; it belongs to the quote, not the customer."""
    end = len(lines)
    while end and (not lines[end - 1].strip() or _SEPARATOR.match(lines[end - 1].strip())):
        end -= 1
    return lines[:end]


def _signature_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if line.rstrip() == "--" or _SIGN_OFF.match(line.strip()):
            return index
    return len(lines)


def _collapse(lines: Iterable[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _text_above_the_quote(lines: list[str]) -> str:
    """Top posting, what nearly every client does: the customer's text is everything above the first reply header."""
    cut = next((i for i in range(len(lines)) if _reply_header_length(lines, i)), len(lines))
    own = _without_trailing_separators([line for line in lines[:cut] if not _is_quoted(line)])
    return _collapse(own[: _signature_start(own)])


def _text_between_quotes(lines: list[str]) -> str:
    """Inline replies: the customer answered between quoted lines, below the reply header."""
    own, index = [], 0
    while index < len(lines):
        skip = _reply_header_length(lines, index)
        if skip:
            index += skip
            continue
        if not _is_quoted(lines[index]):
            own.append(lines[index])
        index += 1
    return _collapse(own[: _signature_start(own)] or own)


def clean_body(text: str) -> str:
    """The customer's words without quoted replies, reply headers and signatures, blank runs collapsed.

    Tried from the strictest reading to the most lenient, so that an unusual layout loses its quote
    handling rather than the customer's message: whatever is not a '>' line is never thrown away entirely.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for reading in (_text_above_the_quote, _text_between_quotes):
        cleaned = reading(lines)
        if cleaned:
            return cleaned
    return _collapse(line for line in lines if not _is_quoted(line))


class _HtmlText(HTMLParser):
    """Renders the visible text of an HTML mail; blockquotes come out as '>' lines so clean_body drops them."""

    _LINES = frozenset({"div", "li", "tr", "hr", "section", "article", "header", "footer"})
    _PARAGRAPHS = frozenset({"p", "blockquote", "ul", "ol", "table", "pre", "h1", "h2", "h3", "h4", "h5", "h6"})
    _INVISIBLE = frozenset({"script", "style", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._lines: list[tuple[int, list[str]]] = [(0, [])]
        self._hidden = 0
        self._quote_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._INVISIBLE:
            self._hidden += 1
        elif tag == "br":
            self._lines.append((self._quote_depth, []))
        elif tag in self._LINES or tag in self._PARAGRAPHS:
            self._quote_depth += tag == "blockquote"
            self._end_block(paragraph=tag in self._PARAGRAPHS)
            if tag == "li":
                self._lines[-1][1].append("- ")
        elif tag in ("td", "th"):
            self._lines[-1][1].append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._INVISIBLE:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._LINES or tag in self._PARAGRAPHS:
            self._quote_depth = max(0, self._quote_depth - (tag == "blockquote"))
            self._end_block(paragraph=tag in self._PARAGRAPHS)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._lines[-1][1].append(data)

    def _has_text(self, index: int) -> bool:
        return bool("".join(self._lines[index][1]).strip())

    def _end_block(self, *, paragraph: bool) -> None:
        """Nested blocks (<div><div><p>) must not pile up empty lines: a block ends a line only if it has text,
        and a paragraph adds one blank line after it. The new line takes the current quote depth."""
        if self._has_text(-1):
            self._lines.append((self._quote_depth, []))
        if paragraph and len(self._lines) > 1 and self._has_text(-2):
            self._lines.append((self._quote_depth, []))
        self._lines[-1] = (self._quote_depth, self._lines[-1][1])

    def text(self) -> str:
        rendered = []
        for depth, parts in self._lines:
            line = " ".join("".join(parts).split())  # HTML whitespace is not layout
            rendered.append("> " * depth + line if line else "")
        return _collapse(rendered)


def html_to_text(html: str) -> str:
    """Readable text of an HTML-only mail: no markup, scripts or styles; <br>, <p>, <div>, <li> keep their breaks."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return parser.text()


def _truncate(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Cut a long mail (a pasted log, a forwarded thread) to what the turn API accepts, at a word, marked with '…'."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]  # one character is left for the mark
    if not head[-1].isspace() and not text[limit - 1].isspace() and re.search(r"\s", head):
        head = re.sub(r"\S+$", "", head)  # the cut fell inside a word: drop its first half
    return head.rstrip() + "…"


# --- MIME ------------------------------------------------------------------------------------------------------------


def _unescaped(text: str) -> str:
    """Header text as UTF-8. Clients that put raw UTF-8 in headers (instead of encoded words) leave the parser's
    surrogate escapes in names and addresses, which no JSON, pydantic model or S3 key accepts."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


# What the standard library's structured-header parser raises on some damaged values ("To: <", a stray group
# syntax) instead of recording a defect; a header it cannot read counts as missing.
_HEADER_PARSER_FAILURES = (AttributeError, IndexError, HeaderParseError)


def _header(message: EmailMessage, name: str) -> str:
    """A header's decoded text; empty when missing or unreadable, because a broken optional header should not
    cost the customer's message."""
    try:
        return _unescaped(str(message[name] or ""))
    except _HEADER_PARSER_FAILURES:
        return ""


def _first_address(message: EmailMessage, header: str) -> tuple[str, str] | None:
    """(display name, lower-case address) of the first real address in a header: a name alone is not one."""
    try:
        addresses = getattr(message[header], "addresses", ())
    except _HEADER_PARSER_FAILURES:
        return None
    for address in addresses:
        if address.username and address.domain:
            return _unescaped(address.display_name), _unescaped(address.addr_spec).lower()
    return None


def _message_ids(values: Iterable[str]) -> list[str]:
    ids: list[str] = []
    for value in values:
        ids.extend(re.findall(r"<([^<>\s]+)>", value) or value.split())
    return list(dict.fromkeys(ids))


def _references(message: EmailMessage) -> list[str]:
    """In-Reply-To first (the message answered), then the References chain, each once, without brackets."""
    return _message_ids(
        _unescaped(str(value)) for name in ("In-Reply-To", "References") for value in message.get_all(name, [])
    )


def _decoded_text(part: MIMEPart) -> str:
    """A text part's content in its declared charset. Mail that declares none (so US-ASCII) or a wrong or unknown
    one is read as UTF-8, then as Windows-1252, the way mail clients read it, rather than losing the message."""
    payload = cast("bytes | None", part.get_payload(decode=True)) or b""  # a text part decodes to bytes
    for charset in (part.get_content_charset() or "us-ascii", "utf-8", "windows-1252"):
        try:
            return payload.decode(charset)
        except (LookupError, ValueError):  # an unknown or garbled charset name; bytes that are not in it
            continue
    return payload.decode("utf-8", errors="replace")


def _body_text(message: EmailMessage) -> str:
    """The customer's text: the plain part when it says anything, otherwise the HTML part rendered as text."""
    for kind in ("plain", "html"):
        part = message.get_body(preferencelist=(kind,))
        if part is None:
            continue
        content = _decoded_text(part)
        text = clean_body(html_to_text(content) if kind == "html" else content)
        if text:
            return text
    return ""


def _leaves(part: MIMEPart) -> Iterator[MIMEPart]:
    """Every non-multipart part; an attached email (message/rfc822) is one leaf, not opened."""
    if part.get_content_maintype() == "multipart":
        for child in part.iter_parts():
            yield from _leaves(child)
    else:
        yield part


def _is_attachment(part: MIMEPart) -> bool:
    disposition = part.get_content_disposition()
    if disposition == "attachment":
        return True
    return disposition in (None, "inline") and part.get_content_maintype() != "text" and bool(part.get_filename())


def _payload(part: MIMEPart) -> bytes:
    if part.get_content_type() == "message/rfc822":
        return cast(EmailMessage, part.get_content()).as_bytes()
    return cast("bytes | None", part.get_payload(decode=True)) or b""  # a leaf that is not a message: bytes


def _safe_filename(name: str | None, content_type: str, number: int) -> str:
    """A name that cannot climb out of the attachment's S3 prefix: no directories, no control characters,
    no leading dots, at most MAX_FILENAME_CHARS with the extension kept. A nameless part gets one from its type."""
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", _unescaped(name or "")))[-1]
    base = re.sub(r"[^\w.\-+,()&@ ]", "_", base)
    base = " ".join(base.split()).lstrip(". ")
    if not base:
        base = f"attachment-{number}{mimetypes.guess_extension(content_type) or ''}"
    stem, dot, extension = base.rpartition(".")
    if len(base) > MAX_FILENAME_CHARS and dot and stem and len(extension) < 20:
        return stem[: MAX_FILENAME_CHARS - len(extension) - 1] + "." + extension
    return base[:MAX_FILENAME_CHARS]


def _store_attachments(message: EmailMessage, store_attachment: StoreAttachment) -> list[Attachment]:
    attachments: list[Attachment] = []
    for part in _leaves(message):
        if len(attachments) == MAX_ATTACHMENTS:
            break
        if not _is_attachment(part):
            continue
        payload = _payload(part)
        if not payload or len(payload) > MAX_ATTACHMENT_BYTES:
            continue
        content_type = part.get_content_type()
        filename = _safe_filename(part.get_filename(), content_type, len(attachments) + 1)
        key = store_attachment(filename, content_type, payload)
        attachments.append(Attachment(filename=filename, content_type=content_type, size=len(payload), s3_key=key))
    return attachments


def _attachments_note(attachments: list[Attachment]) -> str:
    names = ", ".join(attachment.filename for attachment in attachments)
    return f"(sent {len(attachments)} attachment{'s' if len(attachments) != 1 else ''}: {names})"


def parse_email(
    raw: bytes,
    *,
    message_id: str,
    received_at: datetime,
    verified: bool,
    verified_by: str | None,
    store_attachment: StoreAttachment,
    raw_s3_key: str | None = None,
) -> InboundMessage:
    """A raw RFC 5322 message as the normalized InboundMessage; attachments go to `store_attachment`.

    `store_attachment(filename, content_type, payload)` gets the sanitized filename and returns where it kept
    the bytes. It is only called once the mail is known to have a sender, so a rejected mail stores nothing.
    """
    message = BytesParser(policy=policy.default).parsebytes(raw)
    if not message.keys():
        raise MalformedEmail(f"email {message_id} is not an email: no headers found")
    sender = _first_address(message, "From")
    if sender is None:
        raise MalformedEmail(f"email {message_id} has no From address")
    sender_name, sender_address = sender
    text = _body_text(message)
    attachments = _store_attachments(message, store_attachment)
    if not text and not attachments:
        raise MalformedEmail(f"email {message_id} from {sender_address} has no readable text and no attachments")
    recipient = _first_address(message, "To")
    return InboundMessage(
        channel=Channel.EMAIL,
        message_id=message_id,
        sender=sender_address,
        sender_name=sender_name or None,
        verified=verified,
        verified_by=verified_by,
        text=_truncate(text) if text else _attachments_note(attachments),
        subject=_header(message, "Subject").strip() or None,
        recipient=recipient[1] if recipient else None,
        references=_references(message),
        attachments=attachments,
        header_message_id=next(iter(_message_ids([_header(message, "Message-ID")])), None),
        raw_s3_key=raw_s3_key,
        received_at=received_at,
    )


# --- SES receiving ---------------------------------------------------------------------------------------------------


def _record_fields(record: dict[str, Any]) -> tuple[str, datetime, dict[str, Any]]:
    try:
        mail, receipt = record["ses"]["mail"], record["ses"]["receipt"]
        return mail["messageId"], datetime.fromisoformat(mail["timestamp"]), receipt
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedEmail(f"not an SES receiving record: {error!r}") from error


class SesInbound:
    """Turns one SES receiving record (Lambda action) into an InboundMessage, reading the raw mail from S3."""

    def __init__(
        self,
        s3_client: Any,  # a boto3 S3 client (boto3 publishes no types)
        bucket: str,
        inbound_prefix: str = "inbound/",
        attachments_prefix: str = "attachments/",
    ) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._inbound_prefix = inbound_prefix
        self._attachments_prefix = attachments_prefix

    def _raw(self, key: str) -> bytes:
        try:
            return cast(bytes, self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read())
        except self._s3.exceptions.NoSuchKey as error:
            raise EmailNotFound(
                f"no raw email at s3://{self._bucket}/{key}: the receipt rule's S3 action must run before its "
                "Lambda action and write to this bucket and prefix"
            ) from error

    def _attachment_store(self, message_id: str) -> StoreAttachment:
        """Numbered keys, because two attachments may share a name."""
        numbers = itertools.count(1)

        def store(filename: str, content_type: str, payload: bytes) -> str:
            key = f"{self._attachments_prefix}{message_id}/{next(numbers)}-{filename}"
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=payload, ContentType=content_type)
            return key

        return store

    def from_record(self, record: dict[str, Any]) -> InboundMessage:
        message_id, received_at, receipt = _record_fields(record)
        key = self._inbound_prefix + message_id
        verified, verified_by = sender_verified(receipt, record["ses"]["mail"])
        return parse_email(
            self._raw(key),
            message_id=message_id,
            received_at=received_at,
            verified=verified,
            verified_by=verified_by,
            store_attachment=self._attachment_store(message_id),
            raw_s3_key=key,
        )


# --- the reply ---------------------------------------------------------------------------------------------------

_REPLY_PREFIXES = re.compile(r"^\s*(?:(?:re|aw|sv|antw)(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def reply_subject(subject: str | None) -> str:
    """ "Re: " once, whatever the customer's client already stacked up ("RE: Re: AW:")."""
    rest = _REPLY_PREFIXES.sub("", subject or "").strip()
    return f"Re: {rest}" if rest else "Re: your message"


def _bare_id(message_id: str) -> str:
    return message_id.strip().strip("<>")


def compose_reply(
    *,
    sender: str,
    sender_name: str,
    to: str,
    subject: str | None,
    text: str,
    in_reply_to: str | None,
    references: list[str],
    reply_to: str | None = None,
    opens_thread: bool = False,
) -> EmailMessage:
    """The answer as a reply in the customer's thread: mail clients group by In-Reply-To/References (and Gmail
    also by subject), so the customer sees it under their own message rather than as a new conversation.
    `opens_thread`: a message we start (a journey's), whose subject is its own, with no "Re: ".

    References is the chain the customer's mail carried plus the mail answered (RFC 5322 3.6.4).
    """
    message = EmailMessage()
    message["From"] = Address(display_name=sender_name, addr_spec=sender)
    message["To"] = to
    message["Subject"] = (subject or "") if opens_thread else reply_subject(subject)
    message["Date"] = format_datetime(datetime.now().astimezone())
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    if reply_to:
        message["Reply-To"] = reply_to
    chain = [_bare_id(ref) for ref in references if _bare_id(ref)]
    if in_reply_to:
        message["In-Reply-To"] = f"<{_bare_id(in_reply_to)}>"
        chain = [ref for ref in chain if ref != _bare_id(in_reply_to)] + [_bare_id(in_reply_to)]
    if chain:
        message["References"] = " ".join(f"<{ref}>" for ref in dict.fromkeys(chain))
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    return message


class EmailReplySender:
    """Sends compose_reply's message through SES (SES on moto locally)."""

    def __init__(self, ses_client: Any, sender: str, sender_name: str) -> None:  # ses_client: a boto3 SES client
        self._ses = ses_client
        self._sender = sender
        self._sender_name = sender_name

    def send(
        self,
        *,
        to: str,
        subject: str | None,
        text: str,
        in_reply_to: str | None,
        references: list[str],
        reply_to: str | None = None,
        opens_thread: bool = False,
    ) -> str:
        """Returns the Message-ID this message was composed with, without brackets.

        SES on moto keeps it, but real SES replaces any Message-ID with its own (the send response's MessageId
        @ an amazonses.com domain), and that is the id the customer's next mail will reference: thread the
        follow-up by the Reply-To address or by SES's id, not by this value.
        """
        message = compose_reply(
            sender=self._sender,
            sender_name=self._sender_name,
            to=to,
            subject=subject,
            text=text,
            in_reply_to=in_reply_to,
            references=references,
            reply_to=reply_to,
            opens_thread=opens_thread,
        )
        raw = message.as_bytes(policy=policy.SMTP)
        self._ses.send_raw_email(Source=self._sender, Destinations=[to], RawMessage={"Data": raw})
        return _bare_id(message["Message-ID"])
