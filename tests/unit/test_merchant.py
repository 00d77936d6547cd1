"""merchant.json's wording: each return method says what the merchant offers and nothing it does not."""

from __future__ import annotations

from decimal import Decimal

from concierge.channels.email import ReturnEmail
from concierge.store.merchant import RETURN_METHODS, MerchantProfile

SHOP = MerchantProfile(name="Kettle & Leaf", return_window_days=21, max_auto_refund=Decimal("150"))


def test_every_method_has_every_sentence_and_an_unstated_one_promises_nothing():
    for method in RETURN_METHODS:
        shop = SHOP.model_copy(update={"return_method": method})
        assert shop.return_wording.model and shop.return_wording.policy and "{email}" in shop.return_wording.done
    assert SHOP.return_method_sentence("a***@x.example") == "I've emailed your return details to a***@x.example."
    assert "QR" not in SHOP.return_wording.proposal and "label" not in SHOP.return_wording.proposal
    assert SHOP.refund_eta() == "" and "How long does a refund take?" not in dict(SHOP.policy_sections())


def test_the_instructions_follow_the_method_and_a_prepaid_label_sends_no_qr_code():
    shop = SHOP.model_copy(
        update={"return_method": "prepaid_label", "return_instructions": "Drop it at any UPS store."}
    )
    assert shop.return_method_sentence("m@x") == (
        "I've emailed your return details to m@x; the return label is prepaid. Drop it at any UPS store."
    )
    email = ReturnEmail(
        to="m@x",
        first_name="Mia",
        merchant_name=shop.name,
        return_id="R1",
        order_id="#1",
        items=["Mug"],
        resolution_text="Refunded.",
        with_qr=False,
        steps="The return label is prepaid.",
    )
    message = email.mime("shop@x")
    assert "QR" not in email.subject and not [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert "The return label is prepaid." in email.text()


def test_discount_codes_start_with_the_shops_initials_not_the_demo_stores():
    from concierge.store.merchant import MerchantProfile

    def prefix(name: str) -> str:
        return MerchantProfile(name=name, return_window_days=30, max_auto_refund=100).code_prefix

    assert (prefix("Bean & Burr Coffee"), prefix("Voltline"), prefix("!!!")) == ("BBC", "V", "CODE")
