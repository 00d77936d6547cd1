"""Survey offers, answers and calibration pairs in the memory table (see docs/surveys.md, Storage).

- a survey offered about a conversation, and its answer ... pk=CONV#<id>  sk=SCORE#<csat|nps|ces>
  (beside the Auto-CSAT at SCORE#auto: a conversation's scores are exported and erased with it)
- when a customer was last offered NPS (the cadence) ...... pk=CUST#<id>  sk=SURVEYED#nps
- Auto-CSAT beside the real CSAT, per day of the close .... pk=CSATPAIR#<yyyy-mm-dd>  sk=<hash of the conversation id>
  (scores only, no customer: calibration reads one partition per day, never scans, and erasure leaves nothing
  personal behind)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from concierge.memory import keys
from concierge.memory.storage import ConditionFailed
from concierge.memory.store import MemoryStore
from concierge.platform.errors import Busy
from concierge.surveys.models import SCALES, SurveyOffer

ANSWERED_ELSEWHERE = "This survey was answered at the same moment from elsewhere; please retry."


def pair_key(day: date, conversation_id: str) -> dict[str, str]:
    return {"pk": keys.csat_pair_pk(day), "sk": keys.csat_pair_sk(conversation_id)}


class SurveyStore:
    """The repository of survey records: offers and answers (in the conversation's partition), the NPS cadence and
    calibration pairs. It alone reads and writes them, through the memory table's access layer (memory/storage.py)."""

    def __init__(self, memory: MemoryStore) -> None:
        self._db = memory.storage

    @staticmethod
    def _key(conversation_id: str, survey: str) -> dict[str, str]:
        return {"pk": keys.conversation_pk(conversation_id), "sk": keys.score_sk(survey)}

    # offers and answers --------------------------------------------------------------------
    def offer(self, offer: SurveyOffer) -> bool:
        """Record an offer once per conversation and survey; False if it was already offered (a redelivered
        event, or a reopened conversation closing again: the first offer stands)."""
        item = {
            **self._key(offer.conversation_id, offer.survey),
            "expires_at": self._db.expiry(),
            **offer.model_dump(mode="json"),
        }
        return self._db.put(item, condition="attribute_not_exists(pk)")

    def get(self, conversation_id: str, survey: str) -> SurveyOffer | None:
        item = self._db.get(self._key(conversation_id, survey), consistent=True)
        return SurveyOffer.model_validate(item) if item else None

    def offers(self, conversation_id: str) -> list[SurveyOffer]:
        items = self._db.query(keys.conversation_pk(conversation_id), keys.SCORE, consistent=True)
        surveys = {keys.score_sk(kind) for kind in SCALES}  # not SCORE#auto, the Auto-CSAT beside them
        return [SurveyOffer.model_validate(i) for i in items if i["sk"] in surveys]

    def mark_sent(self, offer: SurveyOffer, via: str, at: datetime) -> None:
        self._db.update(
            self._key(offer.conversation_id, offer.survey),
            "SET sent_via = :via, sent_at = :at",
            values={":via": via, ":at": at.isoformat()},
        )

    def answer(self, offer: SurveyOffer, score: int, via: str, at: datetime) -> None:
        """Set the answer, unless another answer landed since `offer` was read (then Conflict: read again)."""
        condition, values = "attribute_not_exists(answered_at)", {}
        if offer.answered_at is not None:
            condition, values = "answered_at = :previous", {":previous": offer.answered_at.isoformat()}
        try:
            self._db.update(
                self._key(offer.conversation_id, offer.survey),
                "SET score = :score, answered_at = :at, answered_via = :via",
                condition=f"attribute_exists(pk) AND {condition}",
                values={":score": score, ":at": at.isoformat(), ":via": via, **values},
            )
        except ConditionFailed as exc:
            raise Busy(ANSWERED_ELSEWHERE) from exc

    # the NPS cadence -----------------------------------------------------------------------
    def claim_nps(self, customer_id: str, conversation_id: str, at: datetime, cadence_days: int) -> bool:
        """True if the customer was not offered NPS in the last `cadence_days` (and records this offer): one
        conditional write, so two conversations closing at once cannot both ask."""
        cutoff = (at - timedelta(days=cadence_days)).isoformat()
        return self._db.put(
            {
                "pk": keys.customer_pk(customer_id),
                "sk": keys.surveyed_sk("nps"),
                "last_offered_at": at.isoformat(),
                "conversation_id": conversation_id,
                "expires_at": self._db.expiry(),
            },
            condition="attribute_not_exists(pk) OR last_offered_at < :cutoff OR conversation_id = :conversation",
            values={":cutoff": cutoff, ":conversation": conversation_id},
        )

    # calibration pairs ---------------------------------------------------------------------
    def put_pair(self, day: date, conversation_id: str, auto: int, real: int, scorer: str) -> None:
        """Upserted: a replaced answer or a re-scored conversation overwrites the pair."""
        self._db.put(
            {
                **pair_key(day, conversation_id),
                "auto": auto,
                "real": real,
                "scorer": scorer,
                "expires_at": self._db.expiry(),
            }
        )

    def pairs(self, day: date) -> list[dict[str, Any]]:
        return self._db.query(keys.csat_pair_pk(day))
