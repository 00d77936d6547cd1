"""WhatsApp through Meta's Cloud API: the webhook that brings customer messages in, and the sender of replies.

Inbound, Meta first proves we own the webhook URL (`verify_subscription`), then signs every delivery with the app
secret (`verify_signature`, checked before anything is parsed); `parse_webhook` turns a delivery into
`InboundMessage`s. Outbound, `WhatsAppSender` posts to the Graph API messages endpoint, which the local runtime and
the tests replace with `concierge.local.graph_standin`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

import urllib3
from urllib3.util import Retry

from concierge.channels.inbound import InboundMessage
from concierge.conversation.api import Channel
from concierge.platform.errors import BadRequest, Forbidden, Unauthorized

SIGNATURE_HEADER = "X-Hub-Signature-256"
VERIFIED_BY = "whatsapp:signed-webhook"
MAX_INBOUND_TEXT = 4000  # what a turn accepts (TurnRequestBody.text)
MAX_TEXT_BODY = 4096  # Cloud API limit for a text message
MAX_BUTTON_BODY = 1024  # Cloud API limit for the body of an interactive message
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_LIST_ROWS = 10  # list messages: rows over all sections
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_ROW_ID = 200
MAX_LIST_BUTTON = 20
WRONG_VERIFY_TOKEN = "hub.verify_token does not match the verify token configured for this webhook."
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_SECONDS = 10.0

_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_NON_DIGITS = re.compile(r"[^0-9]")
_MEDIA = {
    "image": "(sent an image)",
    "document": "(sent a document)",
    "audio": "(sent an audio message)",
    "video": "(sent a video)",
    "sticker": "(sent a sticker)",
}


class MalformedWebhook(BadRequest):
    """The body is not the Cloud API webhook shape; the message names the offending field."""


class WhatsAppSendError(RuntimeError):
    """The Graph API refused a message, or kept failing after the retries."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


# --- webhook verification -------------------------------------------------------------------------------------


def verify_subscription(params: Mapping[str, str], verify_token: str) -> str:
    """Answer Meta's GET handshake: echo `hub.challenge` only to whoever knows our verify token."""
    values = {name: params.get(name) or "" for name in ("hub.mode", "hub.verify_token", "hub.challenge")}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise BadRequest(
            f"Missing {', '.join(missing)} query parameter(s): this URL answers Meta's webhook "
            "verification request (hub.mode=subscribe, hub.verify_token, hub.challenge)."
        )
    if values["hub.mode"] != "subscribe":
        raise BadRequest(f"hub.mode must be 'subscribe', got {values['hub.mode']!r}.")
    given = values["hub.verify_token"].encode("utf-8", "replace")
    if not verify_token or not hmac.compare_digest(verify_token.encode(), given):
        raise Forbidden(WRONG_VERIFY_TOKEN)
    return values["hub.challenge"]


def sign_payload(raw_body: bytes, app_secret: str) -> str:
    """The X-Hub-Signature-256 value Meta sends: HMAC-SHA256 of the exact body bytes, keyed by the app secret."""
    return "sha256=" + _mac(raw_body, app_secret)


def verify_signature(raw_body: bytes, header: str | None, app_secret: str) -> None:
    """Raise Unauthorized unless the header signs these exact bytes (parse only after this passes)."""
    if not header:
        raise Unauthorized(f"Missing {SIGNATURE_HEADER} header: Meta signs every webhook delivery with the app secret.")
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        raise Unauthorized(f"Malformed {SIGNATURE_HEADER} header: expected 'sha256=' and 64 hex digits.")
    # Bytes, not str: the regex admitted ASCII hex only, and compare_digest on bytes is constant-time.
    if not hmac.compare_digest(_mac(raw_body, app_secret).encode(), match.group(1).lower().encode()):
        raise Unauthorized(f"Invalid {SIGNATURE_HEADER} signature: the body was not signed with this app's secret.")


def _mac(raw_body: bytes, app_secret: str) -> str:
    if not app_secret:  # an empty key would let anyone forge a valid signature
        raise ValueError("The WhatsApp app secret is not configured.")
    return hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


# --- webhook parsing ------------------------------------------------------------------------------------------


def normalize_number(number: str) -> str:
    """Digits only, so '+1 (503) 555-0142', '+15035550142' and WhatsApp's '15035550142' compare equal."""
    return _NON_DIGITS.sub("", number)


def parse_webhook(payload: Any, received_at: datetime) -> list[InboundMessage]:
    """The customer messages in a webhook delivery; delivery receipts (`statuses`) and unsupported types yield none.

    The caller has verified the signature, so every sender is verified. `received_at` is used only for a message
    without a timestamp.
    """
    if not isinstance(payload, dict):
        raise MalformedWebhook("The webhook body must be a JSON object.")
    if payload.get("object") != "whatsapp_business_account":
        raise MalformedWebhook(f"object must be 'whatsapp_business_account', got {payload.get('object')!r}.")
    messages: list[InboundMessage] = []
    for e, entry in enumerate(_list(payload, "entry", "entry")):
        for c, change in enumerate(_list(_dict(entry, f"entry[{e}]"), "changes", f"entry[{e}].changes")):
            path = f"entry[{e}].changes[{c}]"
            change = _dict(change, path)
            value = _dict(change.get("value"), f"{path}.value")
            if change.get("field", "messages") == "messages":
                messages.extend(_parse_value(value, f"{path}.value", received_at))
    return messages


def _parse_value(value: dict[str, Any], path: str, received_at: datetime) -> list[InboundMessage]:
    if "messages" not in value:
        return []
    if value.get("messaging_product", "whatsapp") != "whatsapp":
        raise MalformedWebhook(f"{path}.messaging_product must be 'whatsapp', got {value['messaging_product']!r}.")
    recipient = _string(_dict(value.get("metadata"), f"{path}.metadata"), "phone_number_id", f"{path}.metadata")
    names = _contact_names(value.get("contacts") or [], f"{path}.contacts")
    parsed = (
        _parse_message(message, f"{path}.messages[{m}]", recipient, names, received_at)
        for m, message in enumerate(_list(value, "messages", f"{path}.messages"))
    )
    return [message for message in parsed if message is not None]


def _contact_names(contacts: Any, path: str) -> dict[str, str]:
    """wa_id -> profile name. A contact without a name is not an error: the name is a courtesy."""
    if not isinstance(contacts, list):
        raise MalformedWebhook(f"{path} must be a list.")
    names = {}
    for contact in contacts:
        if isinstance(contact, dict) and isinstance(contact.get("profile"), dict):
            name = contact["profile"].get("name")
            if isinstance(name, str) and name.strip():
                names[normalize_number(str(contact.get("wa_id", "")))] = name.strip()
    return names


def _parse_message(
    message: Any, path: str, recipient: str, names: dict[str, str], received_at: datetime
) -> InboundMessage | None:
    message = _dict(message, path)
    sender = normalize_number(_string(message, "from", path))
    if not sender:
        raise MalformedWebhook(f"{path}.from must be a phone number, got {message['from']!r}.")
    message_id, kind = _string(message, "id", path), _string(message, "type", path)
    text = _text_of(message, kind, path)
    if text is None:
        return None
    # WhatsApp ids and numbers usually match; with one contact in the delivery, it is the sender whatever its id.
    sender_name = names.get(sender) or (next(iter(names.values())) if len(names) == 1 else None)
    return InboundMessage(
        channel=Channel.WHATSAPP,
        message_id=message_id,
        sender=sender,
        sender_name=sender_name,
        verified=True,
        verified_by=VERIFIED_BY,
        text=text[:MAX_INBOUND_TEXT],
        recipient=recipient,
        references=_references(message, path),
        received_at=_timestamp(message, path) or received_at,
        reply_id=_reply_id(message) if kind == "interactive" else None,
    )


def _text_of(message: dict[str, Any], kind: str, path: str) -> str | None:
    """What the customer said, as text the turn can read; None for a type this channel does not handle."""
    if kind == "text":
        return _string(_dict(message.get("text"), f"{path}.text"), "body", f"{path}.text")
    if kind == "interactive":
        return _interactive_title(_dict(message.get("interactive"), f"{path}.interactive"), f"{path}.interactive")
    if kind == "button":
        return _string(_dict(message.get("button"), f"{path}.button"), "text", f"{path}.button")
    if kind in _MEDIA:
        value = message.get(kind)
        media: dict[str, Any] = value if isinstance(value, dict) else {}
        caption = media.get("caption")
        return caption.strip() if isinstance(caption, str) and caption.strip() else _MEDIA[kind]
    if kind == "location":
        location = message.get("location")
        return _location_text(location if isinstance(location, dict) else {})
    return None


def _interactive_title(interactive: dict[str, Any], path: str) -> str | None:
    """A tapped reply button or list row reads as its title: what the customer saw and chose."""
    reply_type = interactive.get("type")
    if reply_type not in ("button_reply", "list_reply"):
        return None
    return _string(_dict(interactive.get(reply_type), f"{path}.{reply_type}"), "title", f"{path}.{reply_type}")


def _reply_id(message: dict[str, Any]) -> str | None:
    """The id we gave the tapped button or list row (a survey answer is told apart by it); titles can repeat."""
    interactive = message["interactive"]
    reply = interactive.get(interactive.get("type"))
    reply_id = reply.get("id") if isinstance(reply, dict) else None
    return reply_id if isinstance(reply_id, str) and reply_id else None


def _location_text(location: dict[str, Any]) -> str:
    place = ", ".join(str(location[key]) for key in ("name", "address") if location.get(key))
    if not place and "latitude" in location and "longitude" in location:
        place = f"{location['latitude']}, {location['longitude']}"
    return f"(shared a location: {place})" if place else "(shared a location)"


def _references(message: dict[str, Any], path: str) -> list[str]:
    """The wamid this message replies to (a quoted message, or the one whose button was tapped)."""
    context = message.get("context")
    if context is None:
        return []
    reference = _dict(context, f"{path}.context").get("id")
    return [reference] if isinstance(reference, str) and reference else []


def _timestamp(message: dict[str, Any], path: str) -> datetime | None:
    raw = message.get("timestamp")
    if raw is None:
        return None
    try:
        if not (str(raw).isascii() and str(raw).isdigit() and len(str(raw)) <= 12):
            raise ValueError(raw)
        return datetime.fromtimestamp(int(raw), tz=UTC)
    except (ValueError, OverflowError, OSError):
        shown = repr(raw) if len(repr(raw)) <= 40 else repr(raw)[:40] + "…"
        raise MalformedWebhook(f"{path}.timestamp must be epoch seconds, got {shown}.") from None


def _dict(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedWebhook(f"{path} must be an object, got {type(value).__name__}.")
    return value


def _list(parent: dict[str, Any], key: str, path: str) -> list[Any]:
    value = parent.get(key)
    if not isinstance(value, list):
        raise MalformedWebhook(f"{path} must be a list, got {type(value).__name__}.")
    return value


def _string(parent: dict[str, Any], key: str, path: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value.strip():
        raise MalformedWebhook(f"{path}.{key} is missing or empty.")
    return value.strip()


# --- sending --------------------------------------------------------------------------------------------------


class _BoundedRetry(Retry):
    """Honours Retry-After, but never sleeps longer than a Lambda invocation can afford."""

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, MAX_RETRY_AFTER_SECONDS)


class WhatsAppSender:
    """Posts replies to the Cloud API messages endpoint and returns their wamids.

    Retries cover connection failures and the statuses Graph uses for "try again" (429, 5xx). A read timeout is
    not retried: the message may already be on the customer's phone, and a duplicate reply is worse than an error.
    """

    def __init__(
        self,
        *,
        base_url: str = "https://graph.facebook.com",
        api_version: str = "v21.0",
        phone_number_id: str,
        access_token: str,
        timeout: float = 5.0,
        retries: int = 3,
        backoff_factor: float = 0.5,
        http: urllib3.PoolManager | None = None,
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/{api_version}/{phone_number_id}/messages"
        self._token = access_token
        self._timeout = timeout
        self._retry = _BoundedRetry(
            total=retries,
            connect=retries,
            read=0,
            redirect=False,
            status=retries,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"POST"}),
            backoff_factor=backoff_factor,
            raise_on_status=False,
        )
        self._http = http or urllib3.PoolManager()

    def send_text(self, to: str, text: str, *, reply_to_message_id: str | None = None) -> str:
        """Send a text message (link previews off: a reply should not turn into a product card by accident)."""
        payload = self._envelope(to, "text")
        payload["text"] = {"body": _cap(text, MAX_TEXT_BODY), "preview_url": False}
        if reply_to_message_id:
            payload["context"] = {"message_id": reply_to_message_id}
        return self._post(payload)

    def send_buttons(self, to: str, text: str, buttons: list[tuple[str, str]]) -> str:
        """Send up to three reply buttons, given as (id, title); a tap comes back as an interactive button_reply."""
        _check_buttons(buttons)
        payload = self._envelope(to, "interactive")
        payload["interactive"] = {
            "type": "button",
            "body": {"text": _cap(text, MAX_BUTTON_BODY)},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": button_id, "title": title}} for button_id, title in buttons
                ]
            },
        }
        return self._post(payload)

    def send_list(self, to: str, text: str, button: str, rows: list[tuple[str, str]]) -> str:
        """Send a list message: a button that opens up to ten rows, given as (id, title); a choice comes back as an
        interactive list_reply carrying the row's id."""
        _check_rows(button, rows)
        payload = self._envelope(to, "interactive")
        payload["interactive"] = {
            "type": "list",
            "body": {"text": _cap(text, MAX_BUTTON_BODY)},
            "action": {
                "button": button,
                "sections": [{"rows": [{"id": row_id, "title": title} for row_id, title in rows]}],
            },
        }
        return self._post(payload)

    @staticmethod
    def _envelope(to: str, kind: str) -> dict[str, Any]:
        number = normalize_number(to)
        if not number:
            raise ValueError(f"Not a phone number: {to!r}.")
        return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": number, "type": kind}

    def _post(self, payload: dict[str, Any]) -> str:
        try:
            response = self._http.request(
                "POST",
                self._url,
                body=json.dumps(payload).encode(),
                timeout=self._timeout,
                retries=self._retry,
                headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
            )
        except urllib3.exceptions.HTTPError as error:
            message = f"WhatsApp send failed: the Graph API did not answer ({error})."
            raise WhatsAppSendError(self._redact(message)) from None
        body = _json_or_none(response.data)
        if 200 <= response.status < 300:
            return self._message_id(body, response.status)
        raise self._error(body, response.status)

    def _message_id(self, body: Any, status: int) -> str:
        try:
            return cast(str, body["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise WhatsAppSendError(
                "WhatsApp send failed: the Graph API answered without messages[0].id.", status=status
            ) from None

    def _error(self, body: Any, status: int) -> WhatsAppSendError:
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        code = error.get("code") if isinstance(error.get("code"), int) else None
        detail = error.get("message") or "no error message"
        gave_up = f" after {self._retry.total} retries" if status in RETRY_STATUSES else ""
        message = f"WhatsApp send failed{gave_up}: HTTP {status}, Graph error {code}: {detail}"
        return WhatsAppSendError(self._redact(message), status=status, code=code)

    def _redact(self, message: str) -> str:
        """Graph echoes request parameters in some errors; the token must not reach a log through them."""
        return message.replace(self._token, "[redacted]") if self._token else message


def _check_buttons(buttons: list[tuple[str, str]]) -> None:
    """Graph rejects these with a generic (#100); saying which button is wrong is kinder to whoever wrote it."""
    if not 1 <= len(buttons) <= MAX_BUTTONS:
        raise ValueError(f"A WhatsApp message takes 1 to {MAX_BUTTONS} reply buttons, got {len(buttons)}.")
    for button_id, title in buttons:
        if not 1 <= len(title) <= MAX_BUTTON_TITLE:
            raise ValueError(f"Button title {title!r} must be 1 to {MAX_BUTTON_TITLE} characters.")
        if not 1 <= len(button_id) <= MAX_BUTTON_ID:
            raise ValueError(f"Button id for {title!r} must be 1 to {MAX_BUTTON_ID} characters.")
    if len({button_id for button_id, _ in buttons}) != len(buttons):
        raise ValueError("Button ids must be unique: a tap is told apart by its id.")
    if len({title for _, title in buttons}) != len(buttons):
        raise ValueError("Button titles must be unique: the customer tells buttons apart by their titles.")


def _check_rows(button: str, rows: list[tuple[str, str]]) -> None:
    if not 1 <= len(button) <= MAX_LIST_BUTTON:
        raise ValueError(f"The list button {button!r} must be 1 to {MAX_LIST_BUTTON} characters.")
    if not 1 <= len(rows) <= MAX_LIST_ROWS:
        raise ValueError(f"A WhatsApp list takes 1 to {MAX_LIST_ROWS} rows, got {len(rows)}.")
    for row_id, title in rows:
        if not 1 <= len(title) <= MAX_ROW_TITLE:
            raise ValueError(f"Row title {title!r} must be 1 to {MAX_ROW_TITLE} characters.")
        if not 1 <= len(row_id) <= MAX_ROW_ID:
            raise ValueError(f"Row id for {title!r} must be 1 to {MAX_ROW_ID} characters.")
    if len({row_id for row_id, _ in rows}) != len(rows):
        raise ValueError("Row ids must be unique: a choice is told apart by its id.")


def _cap(text: str, limit: int) -> str:
    """Graph rejects an over-long body; a shortened reply that says so beats no reply."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_or_none(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:  # a gateway's HTML error page, say
        return None
