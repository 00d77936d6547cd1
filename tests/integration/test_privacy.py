"""Privacy rights, consent and merges through the HTTP routes, on the local stack."""

from __future__ import annotations

import json

import boto3
import pytest

from concierge.channels.whatsapp import sign_payload
from concierge.local.stack import DEV_WHATSAPP, REGION
from concierge.memory import keys
from concierge.platform import wiring
from concierge.platform.settings import IngestSettings, current_settings
from tests.credentials import customer_headers, operator_headers
from tests.integration.conftest import Client
from tests.integration.test_omnichannel import deliver, email, webhook, whatsapp_body


def as_customer(customer_id: str) -> dict:
    return customer_headers(customer_id)


def as_operator(operator_id: str = "dana") -> dict:
    return operator_headers(operator_id, supervisor=False)


def call(stack, method: str, path: str, headers: dict, body: dict | None = None, **params) -> tuple[int, dict]:
    status, _, text = stack.proxy(
        method,
        path,
        params,
        {"Content-Type": "application/json", **headers},
        {},
        json.dumps(body) if body is not None else None,
    )
    return status, json.loads(text) if text else {}


def everything_in_memory() -> list[dict]:
    return everything_in(current_settings(IngestSettings).memory_table)


def everything_in(table_name: str) -> list[dict]:
    """Every item of a table of the local stack, page by page."""
    table = boto3.resource("dynamodb", region_name=REGION).Table(table_name)
    items, kwargs = [], {}
    while True:
        page = table.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def mail_objects() -> list[str]:
    s3 = boto3.client("s3", region_name=REGION)
    return [
        o["Key"] for o in s3.list_objects_v2(Bucket=current_settings(IngestSettings).mail_bucket).get("Contents", [])
    ]


@pytest.fixture(scope="module")
def client(stack):
    return Client(stack)


def test_a_customer_exports_their_data_and_only_theirs(stack, client):
    client.say("sam", "priv-sam-1", "Where is my order?")
    client.say("alex", "priv-alex-1", "Do you ship to Canada?")
    status, export = call(stack, "GET", "/v1/customers/sam/data", as_customer("sam"), customer_id="sam")
    assert status == 200
    assert export["customer_id"] == "sam"
    conversations = {c["conversation_id"]: c for c in export["conversations"]}
    assert "priv-sam-1" in conversations and "priv-alex-1" not in conversations
    assert conversations["priv-sam-1"]["messages"][0]["text"] == "Where is my order?"
    assert export["commerce"]["customer"]["email"] == "sam@example.com"

    status, _ = call(stack, "GET", "/v1/customers/sam/data", as_customer("alex"), customer_id="sam")
    assert status == 403, "a customer can only reach their own data"
    status, _body = call(stack, "GET", "/v1/customers/sam/data", {"x-api-key": "k"}, customer_id="sam")
    assert status == 401
    # an operator acts for a customer on the operator routes only; their token is no customer token
    assert call(stack, "GET", "/v1/customers/sam/data", as_operator(), customer_id="sam")[0] == 401
    status, for_operator = call(stack, "GET", "/v1/operator/customers/sam/data", as_operator(), customer_id="sam")
    assert status == 200 and for_operator["customer_id"] == "sam"
    assert call(stack, "GET", "/v1/operator/customers/sam/data", as_customer("sam"), customer_id="sam")[0] == 401
    _, again = call(stack, "GET", "/v1/customers/sam/data", as_customer("sam"), customer_id="sam")
    assert [(a["action"], a["detail"]) for a in again["audit"] if a["action"] == "data.exported"] == [
        ("data.exported", {"operator": "dana"})
    ], "the customer sees who exported their data"


def test_erasure_leaves_nothing_behind(stack, client):
    # Jordan: web chat, an email with an attachment, WhatsApp, a closed conversation with summary and facts.
    client.say("jordan", "priv-jordan-1", "Where is my order?")
    client.say("jordan", "priv-jordan-1", "thanks")
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "jordan@example.com", "support@northwind.example", "photo"
    message.set_content("Here is a photo of the denim jacket's torn seam.")
    message.add_attachment(b"\x89PNG fake image bytes", maintype="image", subtype="png", filename="seam.png")
    stack.receive_email(message.as_bytes())
    body = whatsapp_body(
        "13125550123", "Jordan Lee", "Is the Selvedge Denim Jacket true to size?", "wamid.jordan-erase"
    )
    webhook(stack, body, sign_payload(body, DEV_WHATSAPP["app_secret"]))
    deliver(stack)
    # and a conversation handed over to a person: its handoff, and the console queue's entry
    client.say("jordan", "priv-jordan-2", "where is my order?")
    handed = client.say("jordan", "priv-jordan-2", "this is ridiculous, I'm fed up")
    assert handed.body["conversation_status"] == "handed_off", handed.body
    before = [i for i in everything_in_memory() if "jordan" in json.dumps(i, default=str)]
    assert {keys.record_of(i["pk"], i["sk"]).name for i in before} >= {"handoff", "handoff queue entry", "identity"}
    assert len(before) > 20
    assert any("seam.png" in key for key in mail_objects())

    status, receipt = call(stack, "DELETE", "/v1/customers/jordan", as_customer("jordan"), customer_id="jordan")
    assert status == 200 and receipt["erased"] and receipt["objects_deleted"] >= 2

    leftovers = [
        i
        for i in everything_in_memory()
        if "jordan" in json.dumps(i, default=str).lower() or "13125550123" in json.dumps(i, default=str)
    ]
    assert leftovers == []
    assert not [key for key in mail_objects() if "seam.png" in key]
    status, export = call(stack, "GET", "/v1/customers/jordan/data", as_customer("jordan"), customer_id="jordan")
    assert status == 200  # the commerce record remains with the merchant; the memory is empty
    assert export["conversations"] == []


def test_every_item_the_product_writes_is_a_declared_record(stack, client):
    """A new kind of item must be declared in concierge.memory.keys, saying whether and how erasure reaches it."""
    client.say("alex", "priv-alex-return", "I need to return the blue shirt from my last order")
    client.say("alex", "priv-alex-return", "yes please")
    items = everything_in_memory()
    undeclared = sorted({(i["pk"], i["sk"]) for i in items if keys.record_of(i["pk"], i["sk"]) is None})
    assert undeclared == []
    kinds = {keys.record_of(i["pk"], i["sk"]).name for i in items}
    assert {"conversation", "message", "turn", "action", "conversation index", "fact", "KPI counters"} <= kinds


def test_opting_out_of_personalization_stops_recall(stack, client):
    client.say("sam", "priv-consent-1", "Where is my order?")
    client.say("sam", "priv-consent-1", "thanks, that's all")
    assert client.say("sam", "priv-consent-2", "hi").text.startswith("Welcome back")

    status, body = call(
        stack, "PUT", "/v1/customers/sam/preferences", as_customer("sam"), {"personalization": False}, customer_id="sam"
    )
    assert (status, body["personalization"]) == (200, False)
    greeting = client.say("sam", "priv-consent-3", "hi").text
    assert greeting.startswith("Hi Sam") and "Last time" not in greeting
    status, body = call(
        stack, "PUT", "/v1/customers/sam/preferences", as_customer("sam"), {"personalise": True}, customer_id="sam"
    )
    assert status == 400 and "personalization" in body["message"]


def test_merge_and_unmerge_are_operator_actions_with_an_audit_trail(stack, client):
    from concierge.conversation.api import Channel

    memory = wiring.memory_store(current_settings(IngestSettings))
    # A verified email nobody has on file becomes a guest; an operator then merges the guest into alex.
    stack.receive_email(email("Alex M <alex.morgan@work.example>", "jacket", "What is the Trail Shell Jacket made of?"))
    deliver(stack)
    guest = memory.get_identity(Channel.EMAIL, "alex.morgan@work.example").customer_id
    assert guest.startswith("guest-")

    request = {"source_customer_id": guest, "reason": "customer confirmed both addresses by phone"}
    assert call(stack, "POST", "/v1/customers/alex/merges", as_customer("alex"), request, customer_id="alex")[0] == 401
    status, merged = call(stack, "POST", "/v1/customers/alex/merges", as_operator(), request, customer_id="alex")
    assert status == 200 and merged["identities_moved"] == 1
    assert memory.get_identity(Channel.EMAIL, "alex.morgan@work.example").customer_id == "alex"
    assert call(stack, "POST", "/v1/customers/alex/merges", as_operator(), request, customer_id="alex")[0] == 409

    status, restored = call(
        stack,
        "DELETE",
        f"/v1/customers/alex/merges/{guest}",
        as_operator(),
        customer_id="alex",
        source_customer_id=guest,
    )
    assert status == 200 and restored["identities_restored"] == 1
    assert memory.get_identity(Channel.EMAIL, "alex.morgan@work.example").customer_id == guest
    assert not [i for i in memory.customer_partition("alex") if i.get("origin_customer_id") == guest]
    audit = [i for i in memory.customer_partition("alex") if i["sk"].startswith("AUDIT#")]
    assert [a["action"] for a in audit][-2:] == ["customer.merged", "customer.unmerged"]
    assert all(a["detail"]["operator"] == "dana" for a in audit[-2:])


def test_an_operator_erases_at_a_customers_request_and_the_event_names_them(stack, client, tap):
    client.say("guest-erase-1", "priv-guest-1", "Do you ship to Canada?")
    tap.drain()
    assert call(stack, "DELETE", "/v1/operator/customers/guest-erase-1", as_customer("guest-erase-1"))[0] == 401
    status, receipt = call(
        stack, "DELETE", "/v1/operator/customers/guest-erase-1", as_operator("lee"), customer_id="guest-erase-1"
    )
    assert status == 200 and receipt["erased"] and receipt["items_deleted"] > 0
    [erased] = [e["detail"] for e in tap.drain() if e["detail-type"] == "customer.erased"]
    assert erased["requested_by"] == "operator:lee" and "guest-erase-1" not in json.dumps(erased)
    assert not [i for i in everything_in_memory() if "guest-erase-1" in json.dumps(i, default=str)]


def test_erasing_a_customer_merged_into_another_takes_the_addresses_they_brought(stack, client):
    from concierge.conversation.api import Channel

    memory = wiring.memory_store(current_settings(IngestSettings))
    address = "sam.merged@work.example"
    stack.receive_email(email(f"Sam <{address}>", "mug", "Do you sell travel mugs?"))
    deliver(stack)
    guest = memory.get_identity(Channel.EMAIL, address).customer_id
    request = {"source_customer_id": guest, "reason": "same person, confirmed by phone"}
    assert call(stack, "POST", "/v1/customers/alex/merges", as_operator(), request, customer_id="alex")[0] == 200

    status, receipt = call(stack, "DELETE", f"/v1/operator/customers/{guest}", as_operator("lee"), customer_id=guest)
    assert status == 200 and receipt["erased"]
    assert memory.get_identity(Channel.EMAIL, address) is None
    assert not [i for i in everything_in_memory() if address in json.dumps(i, default=str)]
    assert any(i["sk"] == keys.PROFILE for i in memory.customer_partition("alex"))  # alex's own data stays
