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

from boto3.dynamodb.conditions import Key

from concierge import keys
from concierge.errors import Busy
from concierge.memory import MemoryStore, from_dynamo, to_dynamo
from concierge.surveys.models import SCALES, SurveyOffer


def pair_key(day: date, conversation_id: str) -> dict[str, str]:
    return {"pk": keys.csat_pair_pk(day), "sk": keys.csat_pair_sk(conversation_id)}


class SurveyStore:
    """Survey offers and answers (in the conversation's partition) and calibration pairs, in the memory table."""

    def __init__(self, memory: MemoryStore) -> None:
        self._memory = memory
        self._table = memory.table

    def _conditional(self, **kwargs: Any) -> bool:
        try:
            self._table.put_item(**kwargs)
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # offers and answers --------------------------------------------------------------------
    def offer(self, offer: SurveyOffer) -> bool:
        """Record an offer once per conversation and survey; False if it was already offered (a redelivered
        event, or a reopened conversation closing again: the first offer stands)."""
        item = to_dynamo(
            {
                "pk": keys.conversation_pk(offer.conversation_id),
                "sk": keys.score_sk(offer.survey),
                "expires_at": self._memory.expiry(),
                **offer.model_dump(mode="json"),
            }
        )
        return self._conditional(Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get(self, conversation_id: str, survey: str) -> SurveyOffer | None:
        item = self._table.get_item(
            Key={"pk": keys.conversation_pk(conversation_id), "sk": keys.score_sk(survey)}, ConsistentRead=True
        ).get("Item")
        return SurveyOffer.model_validate(from_dynamo(item)) if item else None

    def offers(self, conversation_id: str) -> list[SurveyOffer]:
        response = self._table.query(
            KeyConditionExpression=Key("pk").eq(keys.conversation_pk(conversation_id))
            & Key("sk").begins_with(keys.SCORE),
            ConsistentRead=True,
        )
        surveys = {keys.score_sk(kind) for kind in SCALES}  # not SCORE#auto, the Auto-CSAT beside them
        return [SurveyOffer.model_validate(from_dynamo(i)) for i in response.get("Items", []) if i["sk"] in surveys]

    def mark_sent(self, offer: SurveyOffer, via: str, at: datetime) -> None:
        self._table.update_item(
            Key={"pk": keys.conversation_pk(offer.conversation_id), "sk": keys.score_sk(offer.survey)},
            UpdateExpression="SET sent_via = :via, sent_at = :at",
            ExpressionAttributeValues={":via": via, ":at": at.isoformat()},
        )

    def answer(self, offer: SurveyOffer, score: int, via: str, at: datetime) -> None:
        """Set the answer, unless another answer landed since `offer` was read (then Conflict: read again)."""
        condition, values = "attribute_not_exists(answered_at)", {}
        if offer.answered_at is not None:
            condition, values = "answered_at = :previous", {":previous": offer.answered_at.isoformat()}
        try:
            self._table.update_item(
                Key={"pk": keys.conversation_pk(offer.conversation_id), "sk": keys.score_sk(offer.survey)},
                UpdateExpression="SET score = :score, answered_at = :at, answered_via = :via",
                ConditionExpression=f"attribute_exists(pk) AND {condition}",
                ExpressionAttributeValues={":score": score, ":at": at.isoformat(), ":via": via, **values},
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException as exc:
            raise Busy("This survey was answered at the same moment from elsewhere; please retry.") from exc

    # the NPS cadence -----------------------------------------------------------------------
    def claim_nps(self, customer_id: str, conversation_id: str, at: datetime, cadence_days: int) -> bool:
        """True if the customer was not offered NPS in the last `cadence_days` (and records this offer): one
        conditional write, so two conversations closing at once cannot both ask."""
        cutoff = (at - timedelta(days=cadence_days)).isoformat()
        return self._conditional(
            Item={
                "pk": keys.customer_pk(customer_id),
                "sk": keys.surveyed_sk("nps"),
                "last_offered_at": at.isoformat(),
                "conversation_id": conversation_id,
                "expires_at": self._memory.expiry(),
            },
            ConditionExpression=(
                "attribute_not_exists(pk) OR last_offered_at < :cutoff OR conversation_id = :conversation"
            ),
            ExpressionAttributeValues={":cutoff": cutoff, ":conversation": conversation_id},
        )

    # calibration pairs ---------------------------------------------------------------------
    def put_pair(self, day: date, conversation_id: str, auto: int, real: int, scorer: str) -> None:
        """Upserted: a replaced answer or a re-scored conversation overwrites the pair."""
        self._table.put_item(
            Item={
                **pair_key(day, conversation_id),
                "auto": auto,
                "real": real,
                "scorer": scorer,
                "expires_at": self._memory.expiry(),
            }
        )

    def pairs(self, day: date) -> list[dict[str, Any]]:
        return self._memory.partition(keys.csat_pair_pk(day))
