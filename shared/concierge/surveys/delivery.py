"""Sending offered surveys on the customer's channel.

- email: one message with a row of one-click links per survey (signed tokens, see `links`);
- WhatsApp: CSAT and CES as list messages whose row ids encode the answer (`survey:<kind>:<score>:<conversation>`),
  NPS (eleven choices, more than a list holds) as a link to the survey page; sent right after the close, inside
  WhatsApp's 24-hour customer-service window;
- web chat: nothing is sent, the page fetches the offer (GET /v1/conversations/{id}/surveys).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr
from typing import TYPE_CHECKING

from concierge.surveys import links
from concierge.surveys.models import SCALES, SurveyOffer

if TYPE_CHECKING:
    from concierge.channels.whatsapp import WhatsAppSender

REPLY_PREFIX = "survey"


def reply_id(offer: SurveyOffer, score: int) -> str:
    return f"{REPLY_PREFIX}:{offer.survey}:{score}:{offer.conversation_id}"


def parse_reply_id(value: str | None) -> tuple[str, int, str] | None:
    """(survey, score, conversation id) of a survey row id; None for anything else."""
    if not value:
        return None
    prefix, _, rest = value.partition(":")
    survey, _, rest = rest.partition(":")
    score, _, conversation_id = rest.partition(":")
    # ASCII digits, and few: int() would take "٣" and refuse 5,000 digits with a ValueError
    if prefix != REPLY_PREFIX or survey not in SCALES or not _small_number(score) or not conversation_id:
        return None
    return survey, int(score), conversation_id


def _small_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 3


def _label(survey: str, score: int) -> str:
    scale = SCALES[survey]
    if score == scale.low:
        return f"{score} – {scale.low_label}"
    if score == scale.high:
        return f"{score} – {scale.high_label}"
    return str(score)


@dataclass(frozen=True)
class SurveyEmail:
    to: str
    merchant_name: str
    offers: list[SurveyOffer]
    tokens: dict[str, str]  # survey -> signed token
    base_url: str

    @property
    def subject(self) -> str:
        return f"How did we do? — {self.merchant_name}"

    def text(self) -> str:
        parts = [f"Thank you for contacting {self.merchant_name}. One click tells us how it went:"]
        for offer in self.offers:
            scale = SCALES[offer.survey]
            parts.append(
                f"\n{scale.question.format(merchant=self.merchant_name)} ({scale.low} = {scale.low_label}, "
                f"{scale.high} = {scale.high_label})"
            )
            parts += [
                f"  {score}: {links.link(self.base_url, self.tokens[offer.survey], score)}" for score in scale.scores
            ]
        parts.append(f"\nYou can change your answer until {self.offers[0].answer_by:%d %B %Y}.")
        return "\n".join(parts)

    def html(self) -> str:
        blocks = []
        for offer in self.offers:
            scale = SCALES[offer.survey]
            cells = "".join(
                f'<a href="{html.escape(links.link(self.base_url, self.tokens[offer.survey], score))}" '
                f'style="display:inline-block;min-width:28px;padding:6px;margin:2px;border:1px solid #999;'
                f'text-align:center;text-decoration:none">{score}</a>'
                for score in scale.scores
            )
            blocks.append(
                f"<p><strong>{html.escape(scale.question.format(merchant=self.merchant_name))}</strong></p>"
                f"<p>{cells}</p><p><small>{scale.low} = {html.escape(scale.low_label)}, "
                f"{scale.high} = {html.escape(scale.high_label)}</small></p>"
            )
        return (
            f"<p>Thank you for contacting {html.escape(self.merchant_name)}. One click tells us how it went:</p>"
            + "".join(blocks)
            + f"<p><small>You can change your answer until {self.offers[0].answer_by:%d %B %Y}.</small></p>"
        )

    def mime(self, sender: str) -> MIMEMultipart:
        message = MIMEMultipart("alternative")
        message["Subject"] = self.subject
        message["From"] = formataddr((self.merchant_name, sender))
        message["To"] = self.to
        message.attach(MIMEText(self.text(), "plain", "utf-8"))
        message.attach(MIMEText(self.html(), "html", "utf-8"))
        return message


def send_whatsapp(
    sender: WhatsAppSender, to: str, offer: SurveyOffer, merchant_name: str, survey_link: str | None
) -> str | None:
    """One message for one survey; None when it cannot be sent here (NPS without a public link)."""
    scale = SCALES[offer.survey]
    question = scale.question.format(merchant=merchant_name)
    if len(scale.scores) <= 10:
        rows = [(reply_id(offer, score), _label(offer.survey, score)) for score in reversed(scale.scores)]
        return sender.send_list(to, question, "Choose a score", rows)
    if survey_link is None:
        return None
    return sender.send_text(to, f"{question} Tap to answer ({scale.low}–{scale.high}): {survey_link}")
