"""Knowledge sources on the local stack: the store import (`concierge import`), each synced help folder
(`concierge knowledge sync DIR --source NAME`) and the files uploaded to the knowledge bucket's documents/ each
sync within their own source, and never remove another's documents, whatever the order they run in."""

from __future__ import annotations

from pathlib import Path

import pytest

from concierge.dev.cli import main
from concierge.knowledge.documents import documents_from_store, from_article
from concierge.knowledge.embedded import load_versioned, save_if_unchanged
from concierge.knowledge.embeddings import embed_query
from concierge.knowledge.port import ANSWER_THRESHOLD
from concierge.knowledge.service import sync_knowledge
from concierge.knowledge.sync import sync
from concierge.platform import aws, wiring
from concierge.platform.settings import IngestSettings, current_settings
from concierge.store.demo import generate_store, write_store

HELP = {
    "gift-wrapping.md": "# Gift wrapping\n## Gift wrapping\nWe gift wrap any order for $5: choose it at checkout and add a card.\n",
    "rewards/loyalty.html": "<h1>Loyalty points</h1><h2>Earning loyalty points</h2><p>Members earn one loyalty point per dollar.</p>",
}
WHOLESALE = {
    "terms.md": "# Wholesale\n## Wholesale minimum order\nWholesale accounts order at least 50 units per style.\n",
}
UPLOAD = (
    "faq/student-discount.md",
    b"---\ntitle: Student discount\n---\n## Who qualifies\nStudents get 15% off with a valid student ID.\n",
)
# A question each document answers, and the document that must come first.
QUESTIONS = {
    "store/payments": "Do you accept PayPal?",
    "store/product-trail-jacket": "What is the Trail Shell Jacket made of?",
    "help/gift-wrapping": "Do you offer gift wrapping?",
    "help/rewards/loyalty": "How do I earn loyalty points?",
    "wholesale/terms": "What is the wholesale minimum order?",
    "uploads/faq/student-discount": "Is there a student discount?",
}
# The articles and product pages every import of the demo store indexes (it may index more, e.g. its policy).
STORE_PAGES = {d.id for d in documents_from_store(generate_store())}


def index():
    settings = current_settings(IngestSettings)
    loaded, _ = load_versioned(aws.client("s3"), settings.knowledge_bucket, settings.knowledge_key)
    return loaded


def indexed() -> set[str]:
    return set(index().document_hashes())


def best(question: str) -> str | None:
    """The document of the best passage, when it is confident enough to answer from (as retrieval searches)."""
    embedder = wiring.embedder(current_settings(IngestSettings))
    hits = index().search(question, embed_query(embedder, question), k=5)
    return hits[0].passage.document_id if hits and hits[0].confidence >= ANSWER_THRESHOLD else None


def assert_holds(expected: set[str]) -> None:
    """The index holds exactly these documents, and each one answers its question."""
    assert indexed() == expected
    for document_id, question in QUESTIONS.items():
        if document_id in expected:
            assert best(question) == document_id, question
        else:
            assert best(question) != document_id, question


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def ksync(folder: Path, *flags: str) -> None:
    assert main(["knowledge", "sync", str(folder), "--quiet", *flags]) == 0


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("import")
    write_store(generate_store(), folder)
    return folder


def concierge_import(store_dir: Path) -> None:
    assert main(["import", str(store_dir)]) == 0


@pytest.fixture
def store(stack, store_dir) -> set[str]:
    """Each test starts and ends with the demo store imported and nothing else; the store source's ids."""

    def reset() -> set[str]:
        settings = current_settings(IngestSettings)
        for source in ("help", "wholesale", "uploads"):
            sync_knowledge(settings, [], source=source)
        concierge_import(store_dir)
        ids = indexed()
        assert ids >= STORE_PAGES and all(i.startswith("store/") for i in ids)
        return ids

    yield reset()
    reset()


def help_ids(folder_files: dict[str, str], source: str) -> set[str]:
    return {f"{source}/{name.rsplit('.', 1)[0]}" for name in folder_files}


@pytest.mark.parametrize("steps", [["import", "sync", "import"], ["sync", "import", "sync"]], ids="-then-".join)
def test_an_import_and_a_folder_sync_keep_each_others_documents(store, store_dir, tmp_path, steps):
    folder = write(tmp_path / "help", HELP)
    sync_knowledge(current_settings(IngestSettings), [], source="store")  # start from an empty index
    assert indexed() == set()
    expected: set[str] = set()
    for step in steps:
        if step == "import":
            concierge_import(store_dir)
            expected |= store
        else:
            ksync(folder)
            expected |= help_ids(HELP, "help")
        assert_holds(expected)


def test_the_import_keeps_a_synced_folder_answering_with_its_citation(store, client, store_dir, tmp_path):
    ksync(write(tmp_path / "help", HELP), "--base-url", "https://shop.example/help")
    concierge_import(store_dir)
    reply = client.say("sam", "src-gift-1", "Do you offer gift wrapping?")
    assert "$5" in reply.text
    assert {
        "title": "Gift wrapping — Gift wrapping",
        "url": "https://shop.example/help/gift-wrapping#gift-wrapping",
    } in (reply.body["reply"]["citations"]), "the citation is the document's URL, without its source"


def test_two_folders_with_their_own_sources_coexist(store, tmp_path):
    help_folder, wholesale = write(tmp_path / "help", HELP), write(tmp_path / "wholesale", WHOLESALE)
    ksync(help_folder)
    ksync(wholesale, "--source", "wholesale")
    both = store | help_ids(HELP, "help") | help_ids(WHOLESALE, "wholesale")
    assert_holds(both)
    ksync(help_folder)
    ksync(wholesale, "--source", "wholesale")
    assert_holds(both)


def test_a_file_removed_from_a_folder_is_removed_from_its_source_only(store, tmp_path, capsys):
    help_folder = write(tmp_path / "help", HELP)
    # The other folder has a file of the same name: same path, another source.
    wholesale = write(tmp_path / "wholesale", {**WHOLESALE, "gift-wrapping.md": HELP["gift-wrapping.md"]})
    ksync(help_folder)
    ksync(wholesale, "--source", "wholesale")
    assert {"help/gift-wrapping", "wholesale/gift-wrapping"} <= indexed()
    capsys.readouterr()

    (help_folder / "gift-wrapping.md").unlink()
    ksync(help_folder)
    assert "0 added, 0 updated, 1 unchanged, 1 removed" in capsys.readouterr().out
    assert indexed() == store | {"help/rewards/loyalty"} | help_ids(WHOLESALE, "wholesale") | {
        "wholesale/gift-wrapping"
    }
    assert best(QUESTIONS["help/gift-wrapping"]) == "wholesale/gift-wrapping"


def test_an_upload_survives_an_import_and_a_folder_sync(store, stack, store_dir, tmp_path):
    report = stack.upload_document(*UPLOAD)
    assert (report["added"], report["removed"]) == (1, 0)
    with_upload = store | {"uploads/faq/student-discount"}
    assert_holds(with_upload)

    concierge_import(store_dir)
    assert_holds(with_upload)

    # A folder with a file at the upload's path: its own document, and the upload stays when it goes.
    folder = write(tmp_path / "help", {**HELP, UPLOAD[0]: UPLOAD[1].decode()})
    ksync(folder)
    assert indexed() == with_upload | help_ids(HELP, "help") | {"help/faq/student-discount"}
    (folder / UPLOAD[0]).unlink()
    ksync(folder)
    assert_holds(with_upload | help_ids(HELP, "help"))
    concierge_import(store_dir)
    assert_holds(with_upload | help_ids(HELP, "help"))

    # Deleting the uploaded file removes it, and only it.
    report = stack.upload_document(UPLOAD[0], None)
    assert report["removed"] == 1 and report["passages_removed"] == 1
    assert_holds(store | help_ids(HELP, "help"))


def test_documents_indexed_before_sources_are_replaced_when_their_source_syncs(
    store, stack, store_dir, tmp_path, capsys
):
    """An index written before sources holds ids without a '/' ("returns", "product-beanie", "gift-wrapping"):
    the import and each folder's sync replace their copies; what is left is reported."""
    folder = write(tmp_path / "help", HELP)
    settings = current_settings(IngestSettings)
    s3 = aws.client("s3")
    legacy = [from_article(a) for a in generate_store().articles]
    old_help = {"gift-wrapping", "discontinued-page"}
    sync_knowledge(settings, [], source="store")
    loaded, etag = load_versioned(s3, settings.knowledge_bucket, settings.knowledge_key)
    old = [*legacy, *(d.model_copy(update={"id": name}) for d in legacy[:1] for name in old_help)]
    sync(old, loaded, wiring.embedder(settings))  # the whole index, as the sync before sources wrote it
    assert save_if_unchanged(loaded, s3, settings.knowledge_bucket, settings.knowledge_key, etag)
    assert indexed() == {d.id for d in legacy} | old_help

    concierge_import(store_dir)
    assert indexed() == store | old_help, "the import replaced the store's old copies"
    capsys.readouterr()
    ksync(folder)
    out = capsys.readouterr()
    assert "1 documents indexed before sources were replaced" in out.out
    assert "1 documents indexed before sources remain" in out.err and "docs/knowledge.md" in out.err
    assert indexed() == store | help_ids(HELP, "help") | {"discontinued-page"}
    # Deleting a file uploaded before the upgrade removes its copy from before too.
    report = stack.upload_document("discontinued-page.md", None)
    assert report["passages_removed"] > 0
    assert indexed() == store | help_ids(HELP, "help")
