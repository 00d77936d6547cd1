"""Lead qualification on a made-up shop (a coffee roaster that also runs an office-coffee service): merchant.json
`leads` and its checks, answers read from a customer's words, the merchant's rule, the links a reply may carry, the
tool a model is given, and the deterministic engine's flow through the real action layer (docs/leads.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from concierge.actions.executor import ActionExecutor
from concierge.conversation.turn import ActionNote, ActionResult, ActionStatus, PassageHit
from concierge.leads import answers
from concierge.leads.config import InvalidAnswers, LeadSettings
from concierge.leads.reply import with_lead_outcome
from concierge.leads.tool import lead_tool
from concierge.platform.events import LeadQualified
from concierge.store.merchant import MerchantProfile
from tests.unit.fakes import ShopChat
from tests.unit.test_engine_other_shops import CUSTOMER, NOW, ORDERS, PRODUCTS

CALENDAR = "https://beancounter.example/office/book-a-tasting"
SHOP_PAGE = "https://beancounter.example/subscriptions"
LEADS = {
    "name": "Bean Counter for Offices",
    "requests": ["office coffee", "quote", "tasting"],
    "intro": "Lovely, we'd be glad to look after your office's coffee.",
    "questions": [
        {
            "id": "people",
            "ask": "How many people drink coffee in your office?",
            "kind": "number",
            "unit": "people",
            "words": ["people", "team of", "colleagues", "employees", "staff"],
            "max": 5000,
        },
        {
            "id": "start",
            "ask": "When would you like to start: this month, next month, or later?",
            "kind": "choice",
            "options": [
                {"label": "this month", "also": ["asap", "right away", "straight away"]},
                {"label": "next month", "also": ["in a few weeks"]},
                {"label": "later", "also": ["no rush", "just looking"]},
            ],
        },
        {"id": "water", "ask": "Does your office kitchen have a water connection?", "kind": "yes_no"},
    ],
    "qualify": [
        {"question": "people", "at_least": 15},
        {"question": "start", "one_of": ["this month", "next month"]},
        {"question": "water", "equals": True},
    ],
    "qualified": {"text": "You're a great fit for a free office tasting. Pick a time here:", "link": CALENDAR},
    "not_qualified": {"text": "Our home subscriptions are the easiest way to start:", "link": SHOP_PAGE},
}
SHOP = MerchantProfile(
    name="Bean Counter Coffee", return_window_days=30, max_auto_refund=Decimal("500.00"), leads=LEADS
)
SETTINGS = SHOP.leads
assert SETTINGS is not None
QUESTIONS = {q.id: q for q in SETTINGS.questions}


class Chat(ShopChat):
    def __init__(self, conversation_id: str = "conv-1") -> None:
        super().__init__(SHOP, PRODUCTS, CUSTOMER, ORDERS, NOW, conversation_id=conversation_id)

    def leads(self) -> list:
        return [e for e in self.services.events.published if isinstance(e, LeadQualified)]


# answers in the customer's words ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("said", "count"),
    [
        ("about 40", 40),
        ("forty", 40),
        ("twenty five of us", 25),
        ("a dozen", 12),
        ("1,200", 1200),
        ("somewhere between 10 and 20 people", 10),
        ("under 15", 14),
        ("more than 50", 51),
        ("we're 30 now, maybe 45 by spring", 30),
        ("by 2027 we'll be 80 people", 80),
    ],
)
def test_a_count_is_read_from_digits_words_ranges_and_bounds(said, count):
    assert answers.parse(QUESTIONS["people"], said) == count


@pytest.mark.parametrize("said", ["our budget is $500", "not sure yet", "the other one", "9000", "lots"])
def test_money_an_unsure_answer_or_a_count_out_of_range_is_no_count(said):
    assert answers.parse(QUESTIONS["people"], said) is None


@pytest.mark.parametrize(
    ("said", "option"),
    [
        ("next month", "next month"),
        ("ASAP please!", "this month"),
        ("not this month, in a few weeks", "next month"),
        ("the second one", "next month"),
        ("3", "later"),
        ("no rush really", "later"),
        ("hmm", None),
        ("this month or next month", None),
    ],
)
def test_a_choice_is_an_option_named_not_refused_or_picked_by_its_place(said, option):
    assert answers.parse(QUESTIONS["start"], said) == option


@pytest.mark.parametrize(
    ("said", "yes"),
    [("yes", True), ("yep we do", True), ("nope", False), ("no, not yet", False), ("not sure", None), ("hm", None)],
)
def test_yes_or_no_is_read_in_so_many_words(said, yes):
    assert answers.parse(QUESTIONS["water"], said) is yes


def test_before_a_question_is_asked_only_a_count_with_its_unit_or_a_named_option_counts():
    assert answers.early_answers(SETTINGS, "we're a team of 40, can we get a quote?") == {"people": 40}
    assert answers.early_answers(SETTINGS, "40 colleagues, starting asap") == {"people": 40, "start": "this month"}
    # a number with no word of its unit, or a yes, is asked rather than guessed
    assert answers.early_answers(SETTINGS, "we have 3 offices, yes, can we get a quote?") == {}


def test_a_request_is_one_of_the_merchants_phrases_not_refused():
    assert answers.requested(SETTINGS, "Could we book a tasting for our office?") == "tasting"
    assert answers.requested(SETTINGS, "Quotes for office coffee please") == "office coffee"
    assert answers.requested(SETTINGS, "we don't need a quote, just the grinder") is None
    assert answers.requested(SETTINGS, "can I get a demo?") is None  # not this merchant's words
    default = LeadSettings.model_validate({k: v for k, v in LEADS.items() if k != "requests"})
    assert answers.requested(default, "can I get a demo?") == "demo"


# the rule ---------------------------------------------------------------------------------------------------------
def test_a_lead_qualifies_only_when_every_condition_holds():
    good = {"people": 40, "start": "next month", "water": True}
    assert SETTINGS.qualifies(good)
    assert not SETTINGS.qualifies({**good, "people": 14})
    assert SETTINGS.qualifies({**good, "people": 15})
    assert not SETTINGS.qualifies({**good, "start": "later"})
    assert not SETTINGS.qualifies({**good, "water": False})
    capped = SETTINGS.model_copy(update={"qualify": [SETTINGS.qualify[0].model_copy(update={"at_most": Decimal(100)})]})
    assert capped.qualifies({"people": 100}) and not capped.qualifies({"people": 101})


def test_answers_are_checked_against_the_questions_before_the_rule():
    assert SETTINGS.check_answers({"people": "40", "start": "ASAP", "water": "yes"}) == {
        "people": 40,
        "start": "this month",
        "water": True,
    }
    with pytest.raises(InvalidAnswers) as refused:
        SETTINGS.check_answers({"people": "lots", "start": "yesterday", "budget": 10})
    problems = refused.value.problems
    assert "'budget' is not one of the questions" in problems
    assert "'people' takes a number of people" in problems
    assert "'start' takes one of: this month, next month, later" in problems
    assert any(p.startswith("'water' is not answered") for p in problems)
    with pytest.raises(InvalidAnswers, match="of 0 and 5000"):
        SETTINGS.check_answers({"people": 9000, "start": "later", "water": False})
    with pytest.raises(InvalidAnswers, match="'water' takes yes or no"):
        SETTINGS.check_answers({"people": 20, "start": "later", "water": 1})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"qualify": [{"question": "budget", "at_least": 1}]}, "leads.qualify.0: question 'budget' is not one of"),
        ({"qualify": [{"question": "start", "at_least": 1}]}, "'start' is a choice question: use one_of"),
        ({"qualify": [{"question": "start", "one_of": ["soon"]}]}, "'soon' is not an option of 'start'"),
        ({"qualified": {"text": "Book:", "link": "http://beancounter.example/x"}}, "should be an https link"),
        ({"qualified": {"text": "Book at https://evil.example", "link": CALENDAR}}, "holds a link"),
        ({"not_qualified": {"text": "Here:", "link": CALENDAR}}, "give the same link"),
        ({"questions": [{"id": "age", "ask": "How old are you?", "kind": "number", "unit": "years"}]}, "protected"),
    ],
)
def test_merchant_json_leads_is_refused_with_a_message_naming_what_is_wrong(change, message):
    with pytest.raises(ValidationError, match=message):
        MerchantProfile(name="X", return_window_days=30, max_auto_refund=Decimal(1), leads={**LEADS, **change})


# the model's tool -------------------------------------------------------------------------------------------------
def test_the_tool_a_model_is_given_holds_the_questions_and_not_the_rule():
    tool = lead_tool(SETTINGS)
    schema = tool["input_schema"]["properties"]["answers"]
    assert schema["required"] == ["people", "start", "water"] and schema["additionalProperties"] is False
    assert schema["properties"]["start"]["enum"] == ["this month", "next month", "later"]
    assert schema["properties"]["water"]["type"] == "boolean" and schema["properties"]["people"]["type"] == "number"
    assert "How many people drink coffee" in tool["description"]
    assert "15" not in str(tool), "the rule's threshold is never shown to a model"
    assert CALENDAR not in str(tool), "nor a link"


# the links a reply may carry --------------------------------------------------------------------------------------
def outcome(qualified: bool, link: str) -> ActionResult:
    return ActionResult(
        call_id="c",
        action_id="a",
        tool="qualify_lead",
        status=ActionStatus.EXECUTED,
        result={"qualified": qualified, "link": link, "message": f"Pick a time here: {link}"},
    )


def test_a_link_made_up_beside_an_outcome_is_left_out_and_the_outcome_link_added():
    reply = "Great news! Book your tasting at https://calendly.example/fake. See you soon."
    text = with_lead_outcome(reply, [outcome(True, CALENDAR)], SHOP)
    assert "calendly.example" not in text and CALENDAR in text and "Great news!" in text


def test_the_calendar_link_goes_only_with_a_qualified_lead():
    reply = f"Sure! You can book a tasting here: {CALENDAR}. Anything else?"
    assert CALENDAR not in with_lead_outcome(reply, [], SHOP)
    assert CALENDAR not in with_lead_outcome(reply, [outcome(False, SHOP_PAGE)], SHOP)
    earlier = ActionNote(
        action_id="a", tool="qualify_lead", status=ActionStatus.EXECUTED, effect={"qualified": True, "link": CALENDAR}
    )
    assert with_lead_outcome(reply, [], SHOP, [earlier]) == reply
    other = "Our subscriptions are at https://beancounter.example/subscriptions."
    assert with_lead_outcome(other, [], SHOP) == other, "other links are not the lead's business"


# the deterministic engine's flow ----------------------------------------------------------------------------------
def test_a_request_is_answered_at_once_then_each_question_in_turn_then_the_calendar_link():
    chat = Chat()
    first = chat.say("Hi! Could we book a tasting for our office?").reply
    assert "we'd be glad to look after your office's coffee" in first and first.endswith(QUESTIONS["people"].ask)
    assert chat.say("about 40 of us").reply == QUESTIONS["start"].ask
    assert chat.say("next month would be ideal").reply == QUESTIONS["water"].ask
    last = chat.say("yes it does")
    assert CALENDAR in last.reply and SHOP_PAGE not in last.reply and last.flow == {}
    [lead] = chat.leads()
    assert lead.qualified and lead.answers == {"people": 40, "start": "next month", "water": True}
    assert lead.request == "tasting" and lead.link == CALENDAR
    assert chat.executed("qualify_lead")[0]["effect"] == {"qualified": True, "link": CALENDAR}


def test_a_lead_the_rule_does_not_qualify_is_given_the_alternative_and_recorded_too():
    chat = Chat()
    chat.say("can we get a quote for office coffee?")
    chat.say("we're 6 people")
    chat.say("this month")
    last = chat.say("no").reply
    assert SHOP_PAGE in last and CALENDAR not in last
    [lead] = chat.leads()
    assert not lead.qualified and lead.answers == {"people": 6, "start": "this month", "water": False}


def test_an_answer_given_before_it_is_asked_is_not_asked_again():
    chat = Chat()
    first = chat.say("We're a team of 40, can we get a quote?").reply
    assert "Noted: 40 people." in first and first.endswith(QUESTIONS["start"].ask)
    assert QUESTIONS["people"].ask not in first
    assert chat.say("asap, and we have 45 staff now").reply == QUESTIONS["water"].ask
    chat.say("yes")
    assert chat.leads()[0].answers["people"] == 45, "a count said again with its unit corrects the first"


def test_an_answer_that_cannot_be_read_is_asked_again_once_then_a_person_is_offered():
    chat = Chat()
    chat.say("can we get a quote for office coffee?")
    again = chat.say("hmm, it depends").reply
    assert again == "Sorry, I need a number of people for this one. " + QUESTIONS["people"].ask
    gave_up = chat.say("it really depends")
    assert "connect me" in gave_up.reply and gave_up.flow["name"] == "offer_handoff"
    assert chat.leads() == [] and not chat.executed("qualify_lead")


def test_the_customer_leaves_the_questions_for_another_request_or_by_saying_so():
    chat = Chat()
    chat.say("can we get a quote for office coffee?")
    tracked = chat.say("actually, where is my order #503?")
    assert ("track_shipment", {"order_id": "#503"}) in chat.calls and tracked.flow.get("name") != "lead"
    chat = Chat("conv-2")
    chat.say("can we get a quote for office coffee?")
    left = chat.say("never mind, forget it")
    assert left.flow == {} and "leave it there" in left.reply and chat.leads() == []


def test_a_question_between_the_questions_is_answered_and_the_waiting_question_asked_again():
    chat = Chat()
    chat.say("can we get a quote for office coffee?")
    answer = PassageHit(
        passage_id="p1",
        title="Office coffee",
        section="Which machines do you use?",
        url="/help/office-coffee",
        text="We install a bean-to-cup machine that needs a water connection and a normal socket.",
        confidence=0.8,
    )
    reply = chat.say("which machines do you use?", passages=[answer])
    assert "bean-to-cup machine" in reply.reply and reply.reply.endswith(QUESTIONS["people"].ask)
    assert "Anything else" not in reply.reply and reply.flow["name"] == "lead"
    assert chat.say("20").reply == QUESTIONS["start"].ask


def test_a_question_about_the_business_line_is_the_help_centers_not_a_request_for_it():
    chat = Chat()
    minimum = PassageHit(
        passage_id="p2",
        title="Office coffee",
        section="Is there a minimum?",
        url="/help/office-coffee",
        text="Office coffee starts at 15 people; smaller teams can take a home subscription.",
        confidence=0.8,
    )
    reply = chat.say("is there a minimum size for office coffee?", passages=[minimum])
    assert "starts at 15 people" in reply.reply and QUESTIONS["people"].ask not in reply.reply
    assert reply.flow.get("name") != "lead"
    assert chat.say("ok, then we'd like office coffee please").reply.endswith(QUESTIONS["people"].ask)


def test_one_lead_per_conversation_whatever_is_asked_again():
    from concierge.conversation.api import Channel
    from concierge.conversation.turn import (
        ConversationSnapshot,
        CustomerRef,
        IncomingMessage,
        MemoryContext,
        ReadyTurn,
        ToolCall,
    )
    from concierge.reasoning import signals

    chat = Chat()
    chat.say("we're 40 people and want to start this month, can we get a quote?")
    chat.say("yes")
    assert chat.executed("qualify_lead")[0]["result"]["link"] == CALENDAR
    turn = ReadyTurn(
        conversation_id=chat.conversation_id,
        customer=CustomerRef(id=CUSTOMER.id, first_name=CUSTOMER.first_name),
        message=IncomingMessage(message_id="m9", text="again", channel=Channel.WEB, received_at=NOW),
        signals=signals.score("again"),
        conversation=ConversationSnapshot(started_at=NOW, customer_turns=3),
        memory=MemoryContext(),
        started_at=NOW,
    )
    call = ToolCall(id="again", tool="qualify_lead", arguments={"answers": {"people": 2, "start": "later"}})
    again = ActionExecutor(chat.services, NOW).execute(call, turn)
    assert again.status is ActionStatus.EXECUTED and again.result["link"] == CALENDAR and again.result["qualified"]
    assert len(chat.leads()) == 1, "one lead, one event"


def test_the_leads_example_in_the_import_format_doc_is_valid():
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "import-format.md").read_text()
    block = text[text.index("```json\n", text.index("### leads")) + len("```json\n") :]
    example = LeadSettings.model_validate_json(block[: block.index("```")])
    assert example.qualifies({"devices": 10, "timeline": "just exploring"})
    assert not example.qualifies({"devices": 9, "timeline": "within a month"})
