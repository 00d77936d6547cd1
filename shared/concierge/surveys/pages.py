"""The one-click survey page behind email and WhatsApp links (GET /v1/surveys/answer?token=...&score=...).

With a score the answer is recorded and the page thanks the customer, offering the other scores to change it;
without one (the NPS link on WhatsApp) the page shows the scale. Errors are pages too, with their HTTP status.
"""

from __future__ import annotations

import html
from datetime import datetime

from concierge.platform.errors import ConciergeError, http_status
from concierge.surveys import links
from concierge.surveys.answers import SurveyServices, offer_for, record_answer
from concierge.surveys.models import SCALES
from concierge.web.limits import whole_number

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}"
    "a.score{display:inline-block;min-width:2rem;padding:.4rem;margin:.15rem;border:1px solid #888;"
    "border-radius:.3rem;text-align:center;text-decoration:none;color:#222}a.score.chosen{background:#222;color:#fff}"
)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width">'
        f'<meta name="robots" content="noindex"><title>{html.escape(title)}</title><style>{STYLE}</style></head>'
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def _scale(survey: str, token: str, chosen: int | None) -> str:
    scale = SCALES[survey]
    cells = "".join(
        f'<a class="score{" chosen" if score == chosen else ""}" '
        f'href="{html.escape(links.sibling(token, score))}">{score}</a>'
        for score in scale.scores
    )
    return (
        f"<p>{cells}</p><p><small>{scale.low} = {html.escape(scale.low_label)}, "
        f"{scale.high} = {html.escape(scale.high_label)}</small></p>"
    )


def answer_from_link(query: dict[str, str], services: SurveyServices, at: datetime) -> tuple[int, str]:
    token = query.get("token") or ""  # verify refuses a missing and an empty token alike
    try:
        claims = links.verify(token, services.signing_keys, at)
        question = html.escape(SCALES[claims.k].question.format(merchant=services.merchant_name))
        raw = query.get("score")
        offer = offer_for(claims.c, claims.u, claims.k, services)
        if raw is None:
            return 200, _page(services.merchant_name, f"<p>{question}</p>{_scale(claims.k, token, None)}")
        score = whole_number(raw, "score")  # the scale check in record_answer names the survey's range
        answer = record_answer(
            claims.c,
            claims.u,
            claims.k,
            score,
            "whatsapp" if offer.sent_via == "whatsapp" else "email",
            services,
            at,
            offer=offer,
        )
    except ConciergeError as error:
        return http_status(error), _page("Sorry", f"<p>{html.escape(error.message)}</p>")
    thanks = "Your answer is unchanged." if answer.outcome == "unchanged" else "Your answer is recorded."
    return 200, _page(
        "Thank you!",
        f"<p>{question} You answered <strong>{answer.score}</strong>. {thanks}</p>"
        f"<p>Pressed the wrong one? Choose again:</p>{_scale(claims.k, token, answer.score)}",
    )
