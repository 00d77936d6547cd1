"""The same knowledge path with the OpenSearch index (opensearch-py against the local stand-in): the local
stack, started with CONCIERGE_KNOWLEDGE_INDEX=opensearch, answers from it; deleting a document removes it."""

from __future__ import annotations

import pytest

from concierge.knowledge.documents import Document, documents_from_store
from concierge.knowledge.service import sync_knowledge
from concierge.platform.settings import IngestSettings, current_settings
from concierge.store.demo import generate_store
from tests.integration.conftest import Client

STUDENTS = Document(
    id="help/students",
    title="Student discount",
    url="/help/students",
    body="## Who qualifies\nStudents get 15% off with a valid student ID.",
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    import os

    from concierge.dev.cli import start_local

    previous = os.environ.get("CONCIERGE_KNOWLEDGE_INDEX")
    os.environ["CONCIERGE_KNOWLEDGE_INDEX"] = "opensearch"
    local, _ = start_local(store_dir=tmp_path_factory.mktemp("store"))
    yield local
    local.stop()  # restores the environment as it was at start, so put ours back after it
    if previous is None:
        os.environ.pop("CONCIERGE_KNOWLEDGE_INDEX", None)
    else:
        os.environ["CONCIERGE_KNOWLEDGE_INDEX"] = previous


def test_turns_are_answered_from_opensearch_and_a_deleted_document_is_gone(stack):
    client = Client(stack)
    assert current_settings(IngestSettings).knowledge_index == "opensearch"
    reply = client.say("sam", "os-1", "How long does a refund take?")
    assert "2 business days" in reply.text and reply.body["reply"]["citations"]
    assert any(r["path"].endswith("/_search") for r in stack.opensearch.requests), "retrieval asked OpenSearch"

    sync_knowledge(current_settings(IngestSettings), [STUDENTS], source="help")
    assert "15% off" in client.say("sam", "os-2", "Is there a student discount?").text
    report = sync_knowledge(current_settings(IngestSettings), documents_from_store(generate_store()), source="store")
    assert (report.added, report.updated) == (0, 0), "the store's own documents, unchanged"
    assert "15% off" in client.say("sam", "os-2b", "Is there a student discount?").text
    report = sync_knowledge(current_settings(IngestSettings), [], source="help")
    assert (report.removed, report.passages_removed) == (1, 1)
    assert "15% off" not in client.say("sam", "os-3", "Is there a student discount?").text
