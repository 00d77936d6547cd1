"""Emails sent through SES on moto, read back for the local inbox panel and for tests."""

from __future__ import annotations

import base64
import email
from email import policy
from typing import Any, cast


def parse_raw(raw: str | bytes) -> dict[str, Any]:
    message = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(), policy=policy.default)
    html_part = message.get_body(preferencelist=("html",))
    text_part = message.get_body(preferencelist=("plain",))
    html = html_part.get_content() if html_part else ""
    attachments = []
    for part in message.walk():
        if part.get_content_maintype() == "image":
            data = cast(bytes, part.get_payload(decode=True))  # an image part is not multipart: its bytes
            cid = (part.get("Content-ID") or "").strip("<>")
            attachments.append(
                {
                    "filename": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "content_id": cid,
                    "data_base64": base64.b64encode(data).decode(),
                }
            )
            if cid:  # make the HTML self-contained for viewing outside a mail client
                html = html.replace(
                    f"cid:{cid}", f"data:{part.get_content_type()};base64,{base64.b64encode(data).decode()}"
                )
    return {
        "subject": str(message.get("Subject", "")),
        "from": str(message.get("From", "")),
        "reply_to": str(message.get("Reply-To", "")),
        "to": [str(message.get("To", ""))],
        "html": html,
        "text": text_part.get_content() if text_part else "",
        "attachments": attachments,
    }


def captured_emails(account: str, region: str) -> list[dict[str, Any]]:
    from moto.ses.models import ses_backends

    backend = ses_backends[account][region]
    emails: list[dict[str, Any]] = []
    for sent in reversed(backend.sent_messages):
        raw = getattr(sent, "raw_data", None)
        if raw is None:
            continue
        emails.append({"message_id": sent.id, **parse_raw(raw), "to": list(sent.destinations)})
    return emails
