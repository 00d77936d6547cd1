"""SES playing, for the local runtime and the tests: the record SES hands a receipt rule's Lambda action.

Production code only reads such records (channels/inbound_email.py); this module writes them, so it lives with the
local runtime, which the Lambda layer does not ship.
"""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.utils import format_datetime
from typing import Any

from concierge.channels.inbound_email import domain_of

_AUTH_RESULT = {"PASS": "pass", "FAIL": "fail", "GRAY": "none", "PROCESSING_FAILED": "temperror"}
_EXAMPLE_FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:concierge-ingest"
_EXAMPLE_SENDING_IP = "192.0.2.25"  # TEST-NET-1


def _record_headers(
    message_id: str, sender: str, common: dict[str, Any], verdicts: dict[str, str], dkim_domain: str | None = None
) -> list[dict[str, str]]:
    """The headers SES lists in the record: its own trace and authentication headers, then the mail's. `sender` is
    the envelope sender (SPF's domain); `dkim_domain` the signing domain (the From domain unless told)."""
    domain = sender.rpartition("@")[2]
    from_domain = domain_of(common["from"][0])
    signer = dkim_domain or from_domain
    spf, dkim, dmarc = (_AUTH_RESULT[verdicts[name]] for name in ("spf", "dkim", "dmarc"))
    designates = "designates" if verdicts["spf"] == "PASS" else "does not designate"
    spf_detail = (
        f"(spfCheck: domain of {domain} {designates} {_EXAMPLE_SENDING_IP} as permitted sender) "
        f"client-ip={_EXAMPLE_SENDING_IP}; envelope-from={sender}; helo=mail.{domain};"
    )
    headers = [
        ("Return-Path", f"<{sender}>"),
        (
            "Received",
            f"from mail.{domain} (mail.{domain} [{_EXAMPLE_SENDING_IP}]) by "
            f"inbound-smtp.us-east-1.amazonaws.com with SMTP id {message_id} for {common['to'][0]}; "
            f"{common['date']}",
        ),
        ("X-SES-Spam-Verdict", verdicts["spam"]),
        ("X-SES-Virus-Verdict", verdicts["virus"]),
        ("Received-SPF", f"{spf} {spf_detail}"),
        (
            "Authentication-Results",
            f"amazonses.com; spf={spf} {spf_detail} dkim={dkim} header.i=@{signer}; "
            f"dmarc={dmarc} header.from={from_domain};",
        ),
        ("From", common["from"][0]),
        ("To", ", ".join(common["to"])),
        ("Subject", common["subject"]),
        ("Date", common["date"]),
        ("Message-ID", common["messageId"]),
        ("MIME-Version", "1.0"),
    ]
    return [{"name": name, "value": value} for name, value in headers]


def ses_receipt_record(
    message_id: str,
    timestamp_iso: str,
    sender: str,
    recipients: list[str],
    *,
    subject: str = "",
    sender_name: str | None = None,
    email_message_id: str | None = None,
    spf: str = "PASS",
    dkim: str = "PASS",
    dmarc: str = "PASS",
    virus: str = "PASS",
    spam: str = "PASS",
    function_arn: str = _EXAMPLE_FUNCTION_ARN,
    envelope_from: str | None = None,
    dkim_domain: str | None = None,
) -> dict[str, Any]:
    """One record of the event SES sends a receipt rule's Lambda action, as documented for SES receiving.

    The local runtime and the tests use it to play SES: put the raw mail at inbound/<message_id>, then hand
    this record to ingest. Like the real event it names neither bucket nor key (those belong to the S3
    action), carries the headers but not the body, and has dmarcPolicy only when DMARC failed. `envelope_from`
    (SPF's domain) and `dkim_domain` default to the From address's: set them to play a spoofed From.
    """
    envelope = envelope_from or sender
    common = {
        "returnPath": envelope,
        "from": [str(Address(display_name=sender_name or "", addr_spec=sender))],
        "date": format_datetime(datetime.fromisoformat(timestamp_iso)),
        "to": list(recipients),
        "messageId": email_message_id or f"<{message_id}@{sender.rpartition('@')[2]}>",
        "subject": subject,
    }
    verdicts = {"spf": spf, "dkim": dkim, "dmarc": dmarc, "virus": virus, "spam": spam}
    receipt: dict[str, Any] = {
        "timestamp": timestamp_iso,
        "processingTimeMillis": 612,  # a typical value: SES reports how long its checks took
        "recipients": list(recipients),
        "spamVerdict": {"status": spam},
        "virusVerdict": {"status": virus},
        "spfVerdict": {"status": spf},
        "dkimVerdict": {"status": dkim},
        "dmarcVerdict": {"status": dmarc},
    }
    if dmarc == "FAIL":
        receipt["dmarcPolicy"] = "reject"
    receipt["action"] = {"type": "Lambda", "functionArn": function_arn, "invocationType": "Event"}
    return {
        "eventSource": "aws:ses",
        "eventVersion": "1.0",
        "ses": {
            "mail": {
                "timestamp": timestamp_iso,
                "source": envelope,
                "messageId": message_id,
                "destination": list(recipients),
                "headersTruncated": False,
                "headers": _record_headers(message_id, envelope, common, verdicts, dkim_domain),
                "commonHeaders": common,
            },
            "receipt": receipt,
        },
    }
