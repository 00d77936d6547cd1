"""Offers on the Claude path (the Messages API stand-in, the demo store): the moments are named in code or checked
against the catalogue, the guardrails decide, and the model is given `accept_offer` only for the offers presented in
its conversation.

- praise of a product the customer bought, answered by the model: the offering wrapper presents the subscription
  offer with its code after the model's reply;
- in the next turn the model's tools include `accept_offer`, narrowed to that offer; before it, they do not;
- a sold-out variant the model reports is checked against the catalogue: a variant in stock is no sold-out moment,
  and the variants named to the customer are the catalogue's, not the model's words.
"""

from __future__ import annotations

import pytest

from concierge.local.messages_standin import message, tool_use
from concierge.offers.holdout import Group, assign
from concierge.platform.settings import ActionsSettings, IngestSettings, current_settings
from tests.integration.conftest import model_client, model_stack

SUBSCRIPTION = "basics-subscription"
ALTERNATIVE = "sold-out-alternative"


@pytest.fixture(scope="module")
def stack(model, tmp_path_factory):
    yield from model_stack(tmp_path_factory, model)


@pytest.fixture
def client(stack, model):
    return model_client(stack, model)


def reply(words: str, intent: str = "feedback", **extra) -> dict:
    return message(
        tool_use("reply_to_customer", {"text": words, "intent": intent, "confidence": 0.9, "resolved": False, **extra})
    )


def tool_names(request: dict) -> dict[str, dict]:
    return {t["name"]: t for t in request["body"]["tools"]}


def nba(answer) -> dict:
    [found] = [a for a in answer.actions() if a["tool"] == "next_best_action"]
    return found["result"]


def test_praise_answered_by_the_model_presents_the_offer_and_then_lets_the_model_take_it(client, model):
    salt = current_settings(ActionsSettings).holdout_salt()
    assert assign(salt, SUBSCRIPTION, "alex", 0.10) is Group.TREATMENT
    model.queue(reply("Thank you so much for telling us, that made our day!"))
    first = client.say("alex", "claude-offer-1", "I have to say the crew tee is fantastic, I love it!")
    assert first.status == 200, first.body
    found = nba(first)
    assert found["presented"] is True and found["offer_id"] == SUBSCRIPTION, found
    assert first.text.startswith("Hi Alex") and found["code"] in first.text, "the offer follows the model's reply"
    assert "accept_offer" not in tool_names(model.requests[0]), "no offer was made before this turn"

    model.queue(reply("Lovely, you're all set.", intent="accept"))
    second = client.say("alex", "claude-offer-1", "oh nice, yes please")
    assert second.status == 200, second.body
    tools = tool_names(model.requests[-1])
    assert tools["accept_offer"]["input_schema"]["properties"]["offer_id"]["enum"] == [SUBSCRIPTION]
    assert list(tools)[-1] == "reply_to_customer"


def sold_out_and_in_stock() -> tuple[str, str, str]:
    """From the demo catalogue: a product, the option values of a variant out of stock, and of one in stock."""
    from concierge.platform import wiring

    store = wiring.reference_store(current_settings(IngestSettings))
    for product_id in ("oxford-shirt", "pocket-tee", "crew-tee"):
        product = store.get_product(product_id)
        gone = next((v for v in product.variants if v.stock == 0), None) if product else None
        kept = next((v for v in product.variants if v.stock > 0), None) if product else None
        if gone and kept:
            return product_id, " ".join(gone.options.values()), " ".join(kept.options.values())
    pytest.skip("no product of the demo catalogue has a variant out of stock beside one in stock")


def test_a_sold_out_variant_the_model_reports_is_checked_against_the_catalogue(client, model):
    salt = current_settings(ActionsSettings).holdout_salt()
    customer = next(c for c in ("jordan", "sam", "priya") if assign(salt, ALTERNATIVE, c, 0.10) is Group.TREATMENT)
    product_id, gone, kept = sold_out_and_in_stock()

    false_claim = {"product_id": product_id, "wanted": f"the {kept} one", "alternative": gone}
    model.queue(reply("I'm sorry, that one is gone.", intent="exchange", sold_out=false_claim))
    wrong = client.say(customer, "claude-offer-2", f"can I get it in {kept} instead?")
    assert wrong.status == 200, wrong.body
    assert nba(wrong)["presented"] is False and nba(wrong)["reason"] == "not_sold_out", nba(wrong)

    claim = {"product_id": product_id, "wanted": gone, "alternative": f"{kept} <b>FREE TV</b>"}
    model.queue(reply(f"The {gone} is sold out, but the {kept} is in stock.", intent="exchange", sold_out=claim))
    right = client.say(customer, "claude-offer-3", f"can I get it in {gone} instead?")
    found = nba(right)
    assert found["presented"] is True and found["offer_id"] == ALTERNATIVE, found
    assert f"({kept.replace(' ', ' / ')})" in found["message"], found["message"]
    assert "FREE TV" not in right.text.split("\n\n")[-1], "the offer names the catalogue's variant, not the model's"


def test_a_tool_the_model_was_not_given_is_never_run(client, model):
    forged = {
        "moment": "variant_out_of_stock",
        "product_id": "oxford-shirt",
        "wanted": "x",
        "alternative": "y",
        "alternative_sku": "forged",
        "item_value": "9999",
    }
    model.queue(
        message(tool_use("next_best_action", forged)), message(tool_use("accept_offer", {"offer_id": ALTERNATIVE}))
    )
    answer = client.say("alex", "claude-offer-4", "do you offer gift wrapping?")
    assert answer.status == 200, answer.body
    assert not [a for a in answer.actions() if a["tool"] in ("next_best_action", "accept_offer")], answer.actions()


def test_a_refund_the_model_proposes_is_the_return_moment_and_the_credit_it_then_proposes_carries_the_bonus(
    client, model
):
    """The return moment is named in code from the model's own `return_items` proposal (a refund to the original
    payment, waiting for a yes): the retention offer follows the model's reply. When the customer takes the credit, the
    model's new proposal says the bonus before the yes, and the execution pays it."""
    from decimal import Decimal

    from tests.integration.test_offer_credit import OFFER, returnable, store_credit

    customer, order, line, amount = returnable(treated=True)
    refund = {"order_id": order.id, "line_ids": [line.line_id], "resolution": "refund", "reason": "changed_mind"}
    model.queue(
        message(tool_use("return_items", refund)),
        reply("To confirm: I'll refund the item to your card. Shall I go ahead?", intent="return"),
    )
    first = client.say(customer, "claude-offer-5", f"I'd like a refund for the {line.title}, I changed my mind")
    assert first.status == 200, first.body
    [proposed] = first.actions("return_items", "pending_confirmation")
    found = nba(first)
    assert found["presented"] is True and found["offer_id"] == OFFER, found
    credit = (amount * Decimal("1.15")).quantize(Decimal("0.01"))
    assert found["message"].strip() in first.text and f"{credit:.2f}" in found["message"], found["message"]
    assert first.text.index(found["message"].strip()) < first.text.index("Reply yes to go ahead"), (
        "the offer comes before the proposal the code states (the model's words left out the order and the amount)"
    )

    as_credit = {**refund, "refund_to": "store_credit"}
    model.queue(
        message(
            tool_use("cancel_action", {"action_id": proposed["result"]["action_id"]}),
            tool_use("return_items", as_credit),
        ),
        reply("Store credit it is. Shall I go ahead?", intent="return"),
    )
    second = client.say(customer, "claude-offer-5", "the store credit please")
    [again] = second.actions("return_items", "pending_confirmation")
    assert again["result"]["store_credit"] is True and Decimal(again["result"]["credit_bonus"]) == credit - amount
    assert not [a for a in second.actions() if a["tool"] == "next_best_action"], "no second moment for the credit"
    assert f"{credit:.2f} of store credit" in second.text, "the proposal says the whole credit before the yes"

    before = store_credit(customer)
    model.queue(
        message(tool_use("confirm_action", {"action_id": again["result"]["action_id"]})),
        reply("Done, the credit is on your account.", intent="return", resolved=True),
    )
    third = client.say(customer, "claude-offer-5", "yes")
    [done] = third.actions("return_items", "executed")
    assert Decimal(done["result"]["credit_bonus"]) == credit - amount
    assert store_credit(customer) - before == credit
