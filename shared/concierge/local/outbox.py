"""Emails sent through SES on moto, read back for the local inbox panel and for tests."""

from __future__ import annotations

import base64
import email
from email import policy


def parse_raw(raw: str | bytes) -> dict:
    message = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(), policy=policy.default)
    html_part = message.get_body(preferencelist=("html",))
    text_part = message.get_body(preferencelist=("plain",))
    html = html_part.get_content() if html_part else ""
    attachments = []
    for part in message.walk():
        if part.get_content_maintype() == "image":
            data = part.get_payload(decode=True)
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
        "to": [str(message.get("To", ""))],
        "html": html,
        "text": text_part.get_content() if text_part else "",
        "attachments": attachments,
    }


def captured_emails(account: str, region: str) -> list[dict]:
    from moto.ses.models import ses_backends

    backend = ses_backends[account][region]
    emails = []
    for sent in reversed(backend.sent_messages):
        raw = getattr(sent, "raw_data", None)
        if raw is None:
            continue
        emails.append({"message_id": sent.id, **parse_raw(raw), "to": list(sent.destinations)})
    return emails
