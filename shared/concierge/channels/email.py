"""Email through Amazon SES: the return confirmation with a drop-off QR code (inline image and attachment), and
plain messages (a password-reset link, a summary the customer asked for).

The MIME classes are imported when a message is built: the actions function builds an `EmailSender` at every first
call, and most of its calls send no email (docs/performance.md)."""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from email.message import Message
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText


@dataclass(frozen=True)
class ReturnEmail:
    to: str
    first_name: str
    merchant_name: str
    return_id: str
    order_id: str
    items: list[str]
    resolution_text: str
    with_qr: bool = True  # a drop-off QR code is attached (merchant.json's return_method "drop_off_code")
    steps: str = "Show the attached QR code at any drop-off point: no label or printer needed."  # what to do next

    @property
    def subject(self) -> str:
        return f"Your return {self.return_id}" + (" — drop-off QR code" if self.with_qr else "")

    def qr_png(self) -> bytes:
        import segno

        buffer = io.BytesIO()
        segno.make(f"RETURN:{self.return_id}:ORDER:{self.order_id}", error="m").save(
            buffer, kind="png", scale=8, border=2
        )
        return buffer.getvalue()

    def text(self) -> str:
        items = "\n".join(f"- {item}" for item in self.items)
        return (
            f"Hi {self.first_name},\n\nYour return {self.return_id} for order {self.order_id} is registered:\n"
            f"{items}\n\n"
            f"{self.resolution_text}\n\n" + (f"{self.steps}\n\n" if self.steps else "") + f"{self.merchant_name}"
        )

    def mime(self, sender: str) -> MIMEMultipart:
        from email.mime.image import MIMEImage
        from email.mime.multipart import MIMEMultipart
        from email.mime.text import MIMEText
        from email.utils import formataddr, make_msgid

        cid = make_msgid(domain="concierge.local")
        items = "".join(f"<li>{html.escape(item)}</li>" for item in self.items)
        body = (
            f"<p>Hi {html.escape(self.first_name)},</p>"
            f"<p>Your return <strong>{html.escape(self.return_id)}</strong> for order "
            f"{html.escape(self.order_id)} is registered:</p>"
            f"<ul>{items}</ul><p>{html.escape(self.resolution_text)}</p>"
            + (f"<p>{html.escape(self.steps)}</p>" if self.steps else "")
            + (
                f'<p><img src="cid:{cid[1:-1]}" alt="Drop-off QR code for return {html.escape(self.return_id)}" '
                'width="240" height="240"></p>'
                if self.with_qr
                else ""
            )
            + f"<p>{html.escape(self.merchant_name)}</p>"
        )
        message = MIMEMultipart("related")
        message["Subject"] = self.subject
        message["From"] = formataddr((self.merchant_name, sender))
        message["To"] = self.to
        alternative = MIMEMultipart("alternative")
        alternative.attach(MIMEText(self.text(), "plain", "utf-8"))
        alternative.attach(MIMEText(body, "html", "utf-8"))
        message.attach(alternative)
        if self.with_qr:
            image = MIMEImage(self.qr_png(), "png")
            image.add_header("Content-ID", cid)
            image.add_header("Content-Disposition", "inline", filename="return-qr.png")
            message.attach(image)
        return message


@dataclass(frozen=True)
class TextEmail:
    to: str
    subject: str
    text: str
    merchant_name: str

    def mime(self, sender: str) -> MIMEText:
        from email.mime.text import MIMEText
        from email.utils import formataddr

        message = MIMEText(self.text, "plain", "utf-8")
        message["Subject"] = self.subject
        message["From"] = formataddr((self.merchant_name, sender))
        message["To"] = self.to
        return message


class OutgoingEmail(Protocol):
    """What `EmailSender.send` takes: a recipient and the message for a sender address."""

    @property
    def to(self) -> str: ...

    def mime(self, sender: str) -> Message: ...


class EmailSender:
    """SES adapter. Locally the same calls go to SES on moto, where the local runtime reads them back."""

    def __init__(self, ses_client: Any, sender: str) -> None:  # a boto3 SES client (boto3 publishes no types)
        self._ses = ses_client
        self._sender = sender

    def send(self, email: OutgoingEmail) -> str:
        """Any message with a recipient (`to`) and `mime(sender)`: the return email, a text email, a survey."""
        raw = email.mime(self._sender).as_bytes()
        response = self._ses.send_raw_email(Source=self._sender, Destinations=[email.to], RawMessage={"Data": raw})
        return cast(str, response["MessageId"])
