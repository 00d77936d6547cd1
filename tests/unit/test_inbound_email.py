"""Inbound email: what the agent reads of a customer's mail, what is kept of it, and the threaded reply.

The fixtures in tests/fixtures/email are written the way Gmail, Outlook, Apple Mail and a webmail send them
(quoted-printable, multipart/alternative, Outlook's header block, an inline photo, an ISO-8859-1 body).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import SesModel

from concierge.channels.inbound_email import (
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    MAX_TEXT_CHARS,
    EmailNotFound,
    EmailReplySender,
    MalformedEmail,
    SesInbound,
    clean_body,
    compose_reply,
    html_to_text,
    parse_email,
    sender_verified,
)
from concierge.conversation.api import Channel
from concierge.local.ses import ses_receipt_record
from concierge.platform.errors import BadRequest, http_status

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "email"
RECEIVED = datetime(2024, 6, 4, 6, 41, 20, tzinfo=UTC)
# The bytes base64-encoded in with_attachment.eml.
PHOTO = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb004300") + bytes(range(64)) + bytes.fromhex("ffd9")
RECEIPT = b"%PDF-1.4\n% Northwind receipt for order 58231\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


class Store:
    """Stands in for the attachments bucket: keeps what parse_email hands over."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[str, bytes]] = {}

    def __call__(self, filename: str, content_type: str, payload: bytes) -> str:
        key = f"attachments/test/{len(self.objects) + 1}-{filename}"
        self.objects[key] = (content_type, payload)
        return key


def parse(raw: bytes, store: Store | None = None, **overrides):
    arguments = {
        "message_id": "m-1",
        "received_at": RECEIVED,
        "verified": True,
        "verified_by": "ses:spf+dkim",
        "store_attachment": store if store is not None else Store(),
    } | overrides
    return parse_email(raw, **arguments)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def mail(
    body: str | None = "Hello", *, sender: str | None = "Alex Morgan <alex@example.com>", subject: str = "Question"
) -> EmailMessage:
    message = EmailMessage()
    if sender:
        message["From"] = sender
    message["To"] = "support@northwind.example"
    message["Subject"] = subject
    if body is not None:
        message.set_content(body)
    return message


# --- the customer's words ----------------------------------------------------------------------------------------


def test_a_gmail_reply_keeps_the_question_and_drops_signature_and_quote():
    message = parse(fixture("gmail_reply.eml"))

    assert message.text == (
        "Hi,\n\nThanks for the quick answer. The QR code doesn’t show on my phone, "
        "could you send it again as a PDF?\n\nAlex"
    )
    assert message.channel is Channel.EMAIL
    assert message.sender == "alex@example.com" and message.sender_name == "Alex Fernwood"
    assert message.subject == "Re: Your return R-1042 - drop-off QR code"
    assert message.recipient == "support@northwind.example"


def test_the_gmail_html_part_reads_the_same_as_its_plain_part():
    parsed = BytesParser(policy=policy.default).parsebytes(fixture("gmail_reply.eml"))
    html = parsed.get_body(preferencelist=("html",)).get_content()

    text = clean_body(html_to_text(html))

    assert "could you send it again as a PDF?" in text
    assert "registered" not in text and "wrote:" not in text and "+1 555 0100" not in text


def test_an_outlook_reply_loses_the_header_block_and_the_mobile_sign_off():
    message = parse(fixture("outlook_reply.eml"))

    assert message.text == (
        "Hello,\n\nThe Trail Shell Jacket arrived today but it is size L and I ordered M. "
        "Can I exchange it for an M in Forest?\n\nBest regards,\nJordan Quill"
    )
    assert message.sender == "jordan.quill@example.org", "addresses are lower-cased"
    assert message.subject == "RE: Order 58231 – shipped", "encoded words in the subject are decoded"


def test_an_apple_mail_reply_from_an_iphone_keeps_only_the_question():
    body = (
        "Does it come in Forest too?\n\nSent from my iPhone\n\n"
        "> On 3 Jun 2024, at 10:12, Northwind Support <support@northwind.example> wrote:\n>\n"
        "> The Trail Shell Jacket comes in Black.\n"
    )

    assert clean_body(body) == "Does it come in Forest too?"


def test_an_outlook_original_message_block_is_dropped():
    body = (
        "Please cancel order 58231.\r\n\r\nThanks\r\nJordan\r\n\r\n-----Original Message-----\r\n"
        "From: Northwind Support <support@northwind.example>\r\nSent: Tuesday, June 4, 2024 9:15 AM\r\n"
        "Subject: Order 58231\r\n\r\nYour order is confirmed.\r\n"
    )

    assert clean_body(body) == "Please cancel order 58231.\n\nThanks\nJordan"


def test_answers_written_between_quoted_lines_are_kept():
    body = "On Mon, 3 Jun 2024, Northwind Support wrote:\n> Which size?\nM please.\n> Which colour?\nForest.\n"

    assert clean_body(body) == "M please.\nForest."


def test_a_forwarded_message_is_kept_for_the_agent_to_read():
    body = (
        "See below, the parcel never arrived.\n\n---------- Forwarded message ---------\n"
        "From: Northwind <orders@northwind.example>\nDate: Mon, 3 Jun 2024 at 09:00\nSubject: Order 58231\n\n"
        "Your order 58231 has shipped."
    )

    assert clean_body(body) == body


def test_the_customer_text_survives_when_everything_else_is_quote_or_signature():
    assert clean_body("-- \nAlex Morgan\nSent from my iPhone") == "--\nAlex Morgan\nSent from my iPhone"
    assert clean_body("Hi,\n\n\n\n\nthe zip broke.\n\n\n> old\n") == "Hi,\n\nthe zip broke."
    assert clean_body("> only\n> quoted") == ""


def test_an_html_only_mail_becomes_readable_text():
    message = parse(fixture("html_only.eml"))

    assert message.text == (
        "Hi Northwind team,\n\nThe zipper on my Trail Shell Jacket broke after two weeks.\n"
        "It no longer closes past the chest pocket.\n\n- Order: 58231\n- Colour: Forest\n- Size: M\n\n"
        "Can you repair or replace it?\nThanks & regards,\nSam"
    )
    assert "font-family" not in message.text and "trackOpen" not in message.text and "<" not in message.text


def test_html_to_text_breaks_lines_where_the_page_does():
    html = "<div>one<br>two</div><p>three</p><p>four</p><ul><li>a</li><li>b</li></ul><script>x()</script>"

    assert html_to_text(html) == "one\ntwo\n\nthree\n\nfour\n\n- a\n- b"


def test_an_iso_8859_1_quoted_printable_mail_decodes():
    message = parse(fixture("latin1.eml"))

    assert message.sender_name == "Renée Dupuis"
    assert message.subject == "Veste arrivée abîmée"
    assert "commande n° 58231 est arrivée abîmée : la fermeture éclair est cassée" in message.text
    assert message.text.endswith("Merci d'avance,\nRenée")
    assert message.recipient == "support+fr@northwind.example", "the +tag is kept for threading"


def test_a_long_mail_is_cut_at_a_word_to_what_the_turn_api_accepts():
    body = "The jacket leaks at the seams. " * 400

    text = parse(bytes(mail(body))).text

    assert len(text) <= MAX_TEXT_CHARS and text.endswith("…")
    assert body.startswith(text[:-1]) and text[:-1].endswith(("seams.", "The", "jacket", "leaks", "at", "the"))


def test_thread_ids_come_from_in_reply_to_then_references_each_once():
    message = parse(fixture("gmail_reply.eml"))

    assert message.references == ["CAF7x2kQ9aTq0@mail.example.com", "R-1042.confirmation@northwind.example"]
    assert message.header_message_id == "CAH3f9Lk2mW8vR5uYt0@mail.example.com"


def test_sloppy_headers_do_not_lose_the_mail():
    raw = "From: Renée Dupuis <Renee@Example.net>\nTo: <\nSubject: Veste abîmée\nMessage-ID: <\n\nLa veste est abîmée.".encode()

    message = parse(raw)

    assert (message.sender, message.sender_name, message.subject) == (
        "renee@example.net",
        "Renée Dupuis",
        "Veste abîmée",
    )
    assert message.recipient is None and message.header_message_id is None
    assert message.text == "La veste est abîmée."


# --- attachments -------------------------------------------------------------------------------------------------


def test_attachments_are_stored_with_their_bytes_and_listed():
    store = Store()
    message = parse(fixture("with_attachment.eml"), store)

    assert [(a.filename, a.content_type, a.size) for a in message.attachments] == [
        ("torn-seam.jpg", "image/jpeg", len(PHOTO)),
        ("receipt 58231.pdf", "application/pdf", len(RECEIPT)),
    ]
    assert [store.objects[a.s3_key] for a in message.attachments] == [
        ("image/jpeg", PHOTO),
        ("application/pdf", RECEIPT),
    ]
    assert message.text.startswith("Hello,\n\nThe seam under the left arm")


def test_a_mail_with_only_an_attachment_says_what_was_sent():
    message = mail(None)
    message.add_attachment(PHOTO, maintype="image", subtype="jpeg", filename="IMG_2041.jpg")

    assert parse(bytes(message)).text == "(sent 1 attachment: IMG_2041.jpg)"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\alex\\photo.jpg", "photo.jpg"),
        (".hidden.pdf", "hidden.pdf"),
        ("x" * 150 + ".pdf", "x" * 96 + ".pdf"),
        ("reçu\x00 mai.pdf", "reçu_ mai.pdf"),
    ],
)
def test_attachment_names_cannot_leave_their_folder(name, expected):
    message = mail("photo attached")
    message.add_attachment(RECEIPT, maintype="application", subtype="pdf", filename=name)

    [attachment] = parse(bytes(message)).attachments

    assert attachment.filename == expected and len(attachment.filename) <= 100


def test_a_nameless_attachment_is_named_after_its_type():
    message = mail("receipt attached")
    message.add_attachment(RECEIPT, maintype="application", subtype="pdf")

    assert [a.filename for a in parse(bytes(message)).attachments] == ["attachment-1.pdf"]


def test_at_most_ten_attachments_are_kept_and_oversized_ones_are_skipped():
    message = mail("all the photos")
    message.add_attachment(b"x" * (MAX_ATTACHMENT_BYTES + 1), maintype="video", subtype="mp4", filename="unboxing.mp4")
    for number in range(1, MAX_ATTACHMENTS + 3):
        message.add_attachment(PHOTO, maintype="image", subtype="jpeg", filename=f"photo-{number}.jpg")
    store = Store()

    names = [a.filename for a in parse(bytes(message), store).attachments]

    assert names == [f"photo-{n}.jpg" for n in range(1, MAX_ATTACHMENTS + 1)]
    assert len(store.objects) == MAX_ATTACHMENTS


# --- malformed mail ----------------------------------------------------------------------------------------------


def test_random_bytes_are_not_an_email():
    noise = bytes(random.Random(7).randrange(256) for _ in range(600))

    with pytest.raises(MalformedEmail, match="not an email: no headers"):
        parse(noise)


def test_a_mail_without_a_from_address_is_refused():
    with pytest.raises(MalformedEmail, match="no From address"):
        parse(bytes(mail(sender=None)))
    with pytest.raises(MalformedEmail, match="no From address"):
        parse(b"From: Northwind customer\nSubject: hi\n\nhello")
    with pytest.raises(MalformedEmail, match="no From address"):
        parse(b"From: Alex <\nSubject: hi\n\nhello")


def test_a_mail_with_nothing_to_read_is_refused_and_stores_nothing():
    store = Store()

    with pytest.raises(MalformedEmail, match="no readable text and no attachments") as refused:
        parse(bytes(mail("> just the quote\n> of our last mail")), store)

    assert isinstance(refused.value, BadRequest) and http_status(refused.value) == 400
    assert store.objects == {}


# --- sender verification -----------------------------------------------------------------------------------------


def verdict_of(sender: str = "alex@example.com", **options) -> tuple[bool, str | None]:
    """sender_verified on a record SES would send for this mail (`options`: verdicts, envelope_from, dkim_domain)."""
    record = ses_receipt_record("m1", "2024-06-04T06:41:20Z", sender, ["support@northwind.example"], **options)
    return sender_verified(record["ses"]["receipt"], record["ses"]["mail"])


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ({}, (True, "ses:spf+dkim")),
        ({"dmarc": "GRAY"}, (True, "ses:spf+dkim")),
        ({"spam": "FAIL"}, (True, "ses:spf+dkim")),
        ({"spf": "FAIL"}, (True, "ses:dkim-aligned")),  # DKIM for the From domain is enough, as DMARC defines it
        ({"dkim": "GRAY"}, (True, "ses:spf-aligned")),
        ({"spf": "FAIL", "dkim": "FAIL"}, (False, None)),
        ({"dmarc": "FAIL"}, (False, None)),
        ({"virus": "FAIL"}, (False, None)),
        ({"spf": "PROCESSING_FAILED", "dkim": "GRAY"}, (False, None)),
    ],
)
def test_an_aligned_spf_or_dkim_pass_verifies_the_sender(statuses, expected):
    assert verdict_of(**statuses) == expected


def test_passes_for_another_domain_verify_nobody():
    """A spoofed From: SPF and DKIM pass, but for the attacker's own domain, not the customer's."""
    assert verdict_of(envelope_from="bounce@evil.example", dkim_domain="evil.example") == (False, None)
    assert verdict_of(envelope_from="bounce@evil.example") == (True, "ses:dkim-aligned")
    assert verdict_of(dkim_domain="mailer.example") == (True, "ses:spf-aligned")
    # relaxed alignment: a subdomain of the From domain signs or bounces for it
    assert verdict_of(envelope_from="bounces@mail.example.com", dkim_domain="example.com") == (True, "ses:spf+dkim")
    assert verdict_of(envelope_from="x@notexample.com", dkim_domain="notexample.com") == (False, None)


@pytest.mark.parametrize(
    "forged",
    [
        {"name": "DKIM-Signature", "value": "v=1; a=rsa-sha256; d=example.com; s=s1; b=forged"},
        {"name": "Authentication-Results", "value": "amazonses.com; dkim=pass header.i=@example.com"},
    ],
)
def test_a_header_the_sender_wrote_verifies_nobody(forged):
    """Only the Authentication-Results SES adds above the mail says what passed: an unsigned DKIM-Signature or a
    copied Authentication-Results further down, naming the customer's domain, proves nothing."""
    record = ses_receipt_record(
        "m1",
        "2024-06-04T06:41:20Z",
        "alex@example.com",
        ["support@northwind.example"],
        envelope_from="bounce@evil.example",
        dkim_domain="evil.example",
    )
    record["ses"]["mail"]["headers"].append(forged)
    assert sender_verified(record["ses"]["receipt"], record["ses"]["mail"]) == (False, None)


def test_without_the_mail_nothing_can_be_aligned():
    record = ses_receipt_record("m1", "2024-06-04T06:41:20Z", "alex@example.com", ["support@northwind.example"])
    assert sender_verified(record["ses"]["receipt"]) == (False, None)
    assert sender_verified({}, {}) == (False, None)


# --- the SES record ----------------------------------------------------------------------------------------------


def test_the_record_has_the_documented_shape():
    record = ses_receipt_record(
        "abc123",
        "2024-06-04T06:41:20.512Z",
        "alex@example.com",
        ["support@northwind.example"],
        subject="Jacket",
        sender_name="Alex Morgan",
        dkim="GRAY",
    )

    parsed = SesModel.model_validate({"Records": [record]}).Records[0]
    assert parsed.ses.mail.messageId == "abc123" and parsed.ses.receipt.action.type == "Lambda"
    assert parsed.ses.mail.commonHeaders.header_from == ["Alex Morgan <alex@example.com>"]
    assert record["ses"]["receipt"]["dkimVerdict"] == {"status": "GRAY"}
    assert "dmarcPolicy" not in record["ses"]["receipt"], "SES adds it only when DMARC fails"
    assert (
        ses_receipt_record("a", "2024-06-04T06:41:20Z", "a@b.example", ["s@n.example"], dmarc="FAIL")["ses"]["receipt"][
            "dmarcPolicy"
        ]
        == "reject"
    )


def test_the_sample_event_is_a_verified_mail_about_the_jacket():
    sample = json.loads((ROOT / "events" / "ses" / "inbound-email.json").read_text())
    [record] = sample["Records"]
    mail_ = record["ses"]["mail"]

    SesModel.model_validate(sample)
    assert sender_verified(record["ses"]["receipt"], record["ses"]["mail"]) == (True, "ses:spf+dkim")
    assert record == ses_receipt_record(
        mail_["messageId"],
        mail_["timestamp"],
        "alex@example.com",
        ["support@northwind.example"],
        subject=mail_["commonHeaders"]["subject"],
        sender_name="Alex Morgan",
        email_message_id=mail_["commonHeaders"]["messageId"],
    ), "the sample is what the builder produces"
    assert "Trail Shell Jacket" in mail_["commonHeaders"]["subject"]


# --- the reply ---------------------------------------------------------------------------------------------------


def test_the_reply_threads_under_the_customer_mail_with_one_re():
    reply = compose_reply(
        sender="support@northwind.example",
        sender_name="Northwind",
        to="alex@example.com",
        subject="RE: Re: Trail Shell Jacket",
        text="It is 3-layer recycled nylon — fully waterproof.",
        in_reply_to="<CAH3f9@mail.example.com>",
        references=["R-1042@northwind.example", "CAH3f9@mail.example.com"],
        reply_to="support+c-42@northwind.example",
    )

    assert reply["Subject"] == "Re: Trail Shell Jacket"
    assert reply["In-Reply-To"] == "<CAH3f9@mail.example.com>"
    assert reply["References"] == "<R-1042@northwind.example> <CAH3f9@mail.example.com>"
    assert reply["Reply-To"] == "support+c-42@northwind.example"
    assert reply["Message-ID"].endswith("@northwind.example>")
    assert reply["From"] == "Northwind <support@northwind.example>"
    assert reply.get_content_type() == "text/plain" and reply.get_content_charset() == "utf-8"
    assert reply.get_content().strip() == "It is 3-layer recycled nylon — fully waterproof."


def test_a_reply_to_a_new_mail_has_no_thread_headers_but_a_subject():
    reply = compose_reply(
        sender="support@northwind.example",
        sender_name="Northwind",
        to="alex@example.com",
        subject=None,
        text="Hello",
        in_reply_to=None,
        references=[],
    )

    assert reply["Subject"] == "Re: your message"
    assert reply["In-Reply-To"] is None and reply["References"] is None and reply["Reply-To"] is None


# --- on SES and S3 (moto) ----------------------------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch):
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="concierge-mail")
        yield s3, boto3.client("ses", region_name="us-east-1")


def test_a_received_mail_is_read_from_s3_and_its_attachments_stored_next_to_it(aws):
    s3, _ = aws
    s3.put_object(Bucket="concierge-mail", Key="inbound/ses-0001", Body=fixture("with_attachment.eml"))
    record = ses_receipt_record(
        "ses-0001",
        "2024-06-07T19:30:02.028Z",
        "alex@example.com",
        ["support@northwind.example"],
        subject="Torn seam on my jacket (photo attached)",
    )

    message = SesInbound(s3, "concierge-mail").from_record(record)

    assert message.message_id == "ses-0001" and message.raw_s3_key == "inbound/ses-0001"
    assert message.verified and message.verified_by == "ses:spf+dkim"
    assert message.received_at == datetime(2024, 6, 7, 19, 30, 2, 28000, tzinfo=UTC)
    assert "The seam under the left arm" in message.text
    assert [a.s3_key for a in message.attachments] == [
        "attachments/ses-0001/1-torn-seam.jpg",
        "attachments/ses-0001/2-receipt 58231.pdf",
    ]
    for attachment, payload in zip(message.attachments, (PHOTO, RECEIPT), strict=True):
        stored = s3.get_object(Bucket="concierge-mail", Key=attachment.s3_key)
        assert stored["Body"].read() == payload and stored["ContentType"] == attachment.content_type


def test_a_failed_spf_check_is_read_but_not_verified(aws):
    s3, _ = aws
    s3.put_object(Bucket="concierge-mail", Key="inbound/ses-0002", Body=fixture("latin1.eml"))
    record = ses_receipt_record(
        "ses-0002",
        "2024-06-08T07:14:55Z",
        "renee.dupuis@example.net",
        ["support+fr@northwind.example"],
        spf="FAIL",
        dkim="GRAY",
    )

    message = SesInbound(s3, "concierge-mail").from_record(record)

    assert (message.verified, message.verified_by) == (False, None)
    assert message.sender == "renee.dupuis@example.net"


def test_a_record_whose_mail_is_not_in_s3_says_where_it_looked(aws):
    s3, _ = aws
    record = ses_receipt_record(
        "ses-missing", "2024-06-08T07:14:55Z", "alex@example.com", ["support@northwind.example"]
    )

    with pytest.raises(EmailNotFound, match="no raw email at s3://concierge-mail/inbound/ses-missing"):
        SesInbound(s3, "concierge-mail").from_record(record)


def test_a_reply_is_sent_through_ses_with_its_thread_headers(aws):
    _, ses = aws
    ses.verify_email_identity(EmailAddress="support@northwind.example")

    message_id = EmailReplySender(ses, "support@northwind.example", "Northwind").send(
        to="alex@example.com",
        subject="Trail Shell Jacket",
        text="It is 3-layer recycled nylon.",
        in_reply_to="CAH3f9@mail.example.com",
        references=[],
        reply_to="support+c-42@northwind.example",
    )

    assert message_id.endswith("@northwind.example") and "<" not in message_id
    from moto.ses.models import ses_backends

    [sent] = ses_backends["123456789012"]["us-east-1"].sent_messages
    delivered = BytesParser(policy=policy.default).parsebytes(sent.raw_data.encode())
    assert delivered["Message-ID"] == f"<{message_id}>" and delivered["In-Reply-To"] == "<CAH3f9@mail.example.com>"
    assert delivered["Subject"] == "Re: Trail Shell Jacket" and set(sent.destinations) == {"alex@example.com"}
