"""Every key of the memory table, declared once.

No other module spells a key: they call these builders, and `RECORDS` says what each kind of item is, whether it
holds personal data, and how a customer's erasure reaches it (a unit test fails on a key literal elsewhere; an
integration test fails when erasure leaves an item that names the customer, or when an item matches no record).
The KPI roll-up builds its keys in metrics/keys.py (declared here too). The store table (orders, customers, the
merchant's settings) is another table, whose keys store/commerce.py and store/merchant.py own.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime

# Sort keys without a variable part.
META = "META"  # a conversation's state
PROFILE = "PROFILE"  # a customer's profile
OWNER = "OWNER"  # who owns a conversation that was handed over
IDENTITY = "IDENTITY"  # a channel address's owner
THREAD = "THREAD"  # the conversation an email we sent belongs to
RECEIVED = "RECEIVED"  # a provider message already taken in
MERGED_INTO = "MERGED_INTO"  # a customer merged into another
PASS = "PASS"  # a churn scoring pass's number of pages
VIEWS = "VIEWS"  # a customer's last product views (personal recommendations: catalogue/views.py)

# Partitions listed across customers (queues).
APPROVALS = "APPROVALS"  # actions waiting for a person's approval
HANDOFFS = "HANDOFFS"  # the agent console's queue

# Prefixes of sort keys, for queries and for telling items of one partition apart.
MESSAGE = "MSG#"
TURN = "TURN#"
ACTION = "ACTION#"
APPROVAL = "APPROVAL#"
HANDOFF = "HANDOFF#"
NOTICE = "NOTICE#"
SCORE = "SCORE#"
FACT = "FACT#"
SUMMARY = "SUMMARY#"
CONVERSATION = "CONV#"
OPEN = "OPEN#"
IDENT = "IDENT#"
AUDIT = "AUDIT#"
SURVEYED = "SURVEYED#"
PENDING = "PENDING#"
QUEUED = "Q#"
CUSTOMER = "CUST#"
SIGNAL = "SIGNAL#"
JOURNEY = "JOURNEY#"
ACTIVITY = "ACTIVITY#"
PLAN = "PLAN#"
JOURNEY_UNIT = "JUNIT#"
LEAD = "LEAD#"
CHURN = "CHURN#"
CHURN_RUN = "CHURNRUN#"
PAGE = "PAGE#"

MAX_SEQ = 999_999  # messages and turns are numbered on six digits


# --- partitions -----------------------------------------------------------------------------------------------------
def conversation_pk(conversation_id: str) -> str:
    """The partition of everything about one conversation (erasure deletes it whole)."""
    return f"{CONVERSATION}{conversation_id}"


def customer_pk(customer_id: str) -> str:
    """The partition of everything about one customer across conversations."""
    return f"{CUSTOMER}{customer_id}"


def identity_pk(channel: str, address: str) -> str:
    """Who a channel address belongs to (the same string is the sort key of the customer's copy)."""
    return f"{IDENT}{channel}#{address}"


def thread_pk(message_id: str) -> str:
    return f"MSGID#{message_id}"


def inbox_pk(channel: str, message_id: str) -> str:
    return f"INBOX#{channel}#{message_id}"


def window_pk(kind: str, subject: str) -> str:
    """A rate window (e.g. one reply a day to an unverified sender), keyed by a digest: the subject is not kept."""
    return f"WINDOW#{kind}#{hashlib.sha256(subject.strip().lower().encode()).hexdigest()[:32]}"


WINDOW_SK = "CLAIMED"


def csat_pair_pk(day: date) -> str:
    return f"CSATPAIR#{day.isoformat()}"


def csat_pair_sk(conversation_id: str) -> str:
    return hashlib.sha256(conversation_id.encode()).hexdigest()[:24]


# --- sort keys ------------------------------------------------------------------------------------------------------
def message_sk(seq: int) -> str:
    return f"{MESSAGE}{seq:06d}"


def message_seq(sk: str) -> int:
    return int(sk.removeprefix(MESSAGE))


def turn_sk(number: int) -> str:
    return f"{TURN}{number:06d}"


def action_sk(action_id: str) -> str:
    return f"{ACTION}{action_id}"


def action_id_of(sk: str) -> str:
    return sk.removeprefix(ACTION)


def approval_sk(action_id: str) -> str:
    return f"{APPROVAL}{action_id}"


def pending_sk(action_id: str) -> str:
    return f"{PENDING}{action_id}"


def handoff_sk(at: datetime) -> str:
    return f"{HANDOFF}{at.isoformat()}"


def queued_sk(conversation_id: str) -> str:
    return f"{QUEUED}{conversation_id}"


def notice_sk(key: str) -> str:
    return f"{NOTICE}{key}"


def score_sk(kind: str) -> str:
    return f"{SCORE}{kind}"


def fact_sk(key: str) -> str:
    return f"{FACT}{key}"


def summary_sk(closed_at: datetime, conversation_id: str) -> str:
    return f"{SUMMARY}{closed_at.isoformat()}#{conversation_id}"


def customer_conversation_sk(conversation_id: str) -> str:
    return f"{CONVERSATION}{conversation_id}"


def open_sk(conversation_id: str) -> str:
    return f"{OPEN}{conversation_id}"


def audit_sk(at: datetime, nonce: str) -> str:
    return f"{AUDIT}{at.isoformat()}#{nonce}"


def surveyed_sk(survey: str) -> str:
    return f"{SURVEYED}{survey}"


def signal_sk(kind: str, at: datetime, signal_id: str) -> str:
    """A signal a journey remembers (a charge, to tell a second one of the same amount), by kind and time."""
    return f"{SIGNAL}{kind}#{at.isoformat()}#{signal_id}"


def signal_prefix(kind: str) -> str:
    return f"{SIGNAL}{kind}#"


def journey_slot_sk(journey_id: str, slot: int) -> str:
    """One of the `cap.messages` slots of a journey's cap: a message takes a slot free for `cap.days`."""
    return f"{JOURNEY}{journey_id}#{slot}"


def activity_sk(day: date) -> str:
    """A customer's sign-ins and feature use on one day (UTC), for the churn model's features."""
    return f"{ACTIVITY}{day.isoformat()}"


def subscription_sk(subscription_id: str) -> str:
    """A customer's subscription as the storefront's signals last described it (plan, state, trials)."""
    return f"{PLAN}{subscription_id}"


def journey_unit_marker_sk(journey_id: str) -> str:
    """The customer entered this journey: the marker names the journey's measuring unit (`erase_also`)."""
    return f"{JOURNEY_UNIT}{journey_id}"


def lead_sk(conversation_id: str) -> str:
    """A business, demo or quote request qualified in a conversation (one per conversation: leads/store.py)."""
    return f"{LEAD}{conversation_id}"


def churn_told_sk(day: date) -> str:
    """The scheduled churn scoring published this customer's `churn.risk` for that scored day (once a day)."""
    return f"{CHURN}{day.isoformat()}"


def churn_run_pk(day: date) -> str:
    """One day's churn scoring pass: how many pages it has, and each page's claim."""
    return f"{CHURN_RUN}{day.isoformat()}"


def churn_page_sk(page: int) -> str:
    """One page of a churn scoring pass (a segment of the store table's Scan), by its number."""
    return f"{PAGE}{page:07d}"


# --- what each item is ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Record:
    """One kind of item in the memory table: its key shapes, and whether and how erasure removes it."""

    name: str
    pk: str  # the key's shape, <...> a variable part
    sk: str
    personal: bool  # holds personal data or points at it
    erasure: str  # how erasure (`MemoryStore.erasure`) reaches it ("" when it holds none)

    def matches(self, pk: str, sk: str) -> bool:
        return bool(_shape(self.pk).fullmatch(pk) and _shape(self.sk).fullmatch(sk))


def _shape(template: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if part.startswith("<") else re.escape(part) for part in _PARTS.split(template)))


_PARTS = re.compile(r"(<[^>]+>)")

_IN_CONVERSATION = "the conversation's partition, for each conversation the customer's index lists"
_IN_CUSTOMER = "the customer's partition"

RECORDS: tuple[Record, ...] = (
    Record("conversation", "CONV#<conversation id>", META, True, _IN_CONVERSATION),
    Record("message", "CONV#<conversation id>", "MSG#<seq>", True, _IN_CONVERSATION),
    Record("turn", "CONV#<conversation id>", "TURN#<seq>", True, _IN_CONVERSATION),
    Record("action", "CONV#<conversation id>", "ACTION#<action id>", True, _IN_CONVERSATION),
    Record("approval", "CONV#<conversation id>", "APPROVAL#<action id>", True, _IN_CONVERSATION),
    Record("handoff", "CONV#<conversation id>", "HANDOFF#<iso time>", True, _IN_CONVERSATION),
    Record("owner", "CONV#<conversation id>", OWNER, True, _IN_CONVERSATION),
    Record("notice", "CONV#<conversation id>", "NOTICE#<key>", True, _IN_CONVERSATION),
    Record("score", "CONV#<conversation id>", "SCORE#<kind>", True, _IN_CONVERSATION),
    Record("profile", "CUST#<customer id>", PROFILE, True, _IN_CUSTOMER),
    Record("fact", "CUST#<customer id>", "FACT#<key>", True, _IN_CUSTOMER),
    Record("summary", "CUST#<customer id>", "SUMMARY#<iso time>#<conversation id>", True, _IN_CUSTOMER),
    Record("conversation index", "CUST#<customer id>", "CONV#<conversation id>", True, _IN_CUSTOMER),
    Record("open conversation", "CUST#<customer id>", "OPEN#<conversation id>", True, _IN_CUSTOMER),
    Record("identity (customer's copy)", "CUST#<customer id>", "IDENT#<channel>#<address>", True, _IN_CUSTOMER),
    Record("audit entry", "CUST#<customer id>", "AUDIT#<iso time>#<nonce>", True, _IN_CUSTOMER),
    Record("survey offered", "CUST#<customer id>", "SURVEYED#<survey>", True, _IN_CUSTOMER),
    Record("merged into", "CUST#<customer id>", MERGED_INTO, True, _IN_CUSTOMER),
    Record("signal remembered", "CUST#<customer id>", "SIGNAL#<kind>#<iso time>#<signal id>", True, _IN_CUSTOMER),
    Record("journey cap slot", "CUST#<customer id>", "JOURNEY#<journey>#<slot>", True, _IN_CUSTOMER),
    Record("activity day", "CUST#<customer id>", "ACTIVITY#<day>", True, _IN_CUSTOMER),
    Record("subscription", "CUST#<customer id>", "PLAN#<subscription id>", True, _IN_CUSTOMER),
    Record("journey entered", "CUST#<customer id>", "JUNIT#<journey id>", True, _IN_CUSTOMER),
    Record("lead", "CUST#<customer id>", "LEAD#<conversation id>", True, _IN_CUSTOMER),
    Record("churn risk published", "CUST#<customer id>", "CHURN#<day>", True, _IN_CUSTOMER),
    Record("product views", "CUST#<customer id>", VIEWS, True, _IN_CUSTOMER),
    Record("identity", "IDENT#<channel>#<address>", IDENTITY, True, "from the customer's copy of the identity"),
    Record("email thread", "MSGID#<message id>", THREAD, True, "from the inbox entry of each received message"),
    Record("inbox entry", "INBOX#<channel>#<message id>", RECEIVED, True, "from each message's provider id"),
    Record("approval queue entry", APPROVALS, "PENDING#<action id>", True, "the queue, by customer id"),
    Record("handoff queue entry", HANDOFFS, "Q#<conversation id>", True, "the queue, by customer id"),
    Record("Auto-CSAT and CSAT pair", "CSATPAIR#<day>", "<hash of conversation id>", False, ""),
    Record("rate window", "WINDOW#<kind>#<digest>", WINDOW_SK, False, ""),
    Record("churn scoring pass", "CHURNRUN#<day>", PASS, False, ""),
    Record("churn scoring page", "CHURNRUN#<day>", "PAGE#<page>", False, ""),
    # the KPI roll-up's items (metrics/keys.py)
    Record("KPI attribution", "CONV#<conversation id>", "METRIC#META", True, _IN_CONVERSATION),
    Record("KPI score counted", "CONV#<conversation id>", "METRIC#SCORE#<kind>", True, _IN_CONVERSATION),
    Record("KPI counters", "METRIC#<month>#<kind of slice>", "C#<day[#channel][#intent]>", False, ""),
    Record(
        "KPI low score",
        "METRIC#<month>#L",
        "L#<day>#<score>#<conversation id>#<source>",
        True,
        "the score's `erase_also`",
    ),
    Record("KPI event counted", "METRIC#EVENT#<event id>", "SEEN", False, ""),
    Record("repeat-contact marker", "METRIC#REPEAT#<hash of customer id>", "<intent>", False, ""),
    Record(
        "journey unit",
        "METRIC#JOURNEY#<journey id>",
        "<hash of customer id>",
        True,
        "the customer's journey-entered marker's `erase_also`",
    ),
    # powertools' idempotency record of a confirmed action (actions/executor.py): only the status and the tool,
    # kept 7 days; a repeated confirmation reads the result from the ACTION# item, which erasure deletes
    Record("confirmation run once", "idempotency#<function>", "<hash of the customer, action and stage>", False, ""),
)


def record_of(pk: str, sk: str) -> Record | None:
    """The declared kind of an item, or None when no record declares its keys."""
    return next((r for r in RECORDS if r.matches(pk, sk)), None)
