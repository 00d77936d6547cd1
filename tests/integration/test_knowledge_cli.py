"""`concierge knowledge sync DIR`: a merchant's help-center folder into the index, with a progress bar; a second
run changes nothing; an edited file is re-indexed and a deleted one removed — within the folder's source only."""

from __future__ import annotations

from concierge.dev.cli import main
from concierge.knowledge.documents import documents_from_store
from concierge.knowledge.embedded import load_from_s3
from concierge.platform import aws
from concierge.platform.settings import IngestSettings, current_settings
from concierge.store.demo import generate_store


def indexed() -> set[str]:
    settings = current_settings(IngestSettings)
    return set(load_from_s3(aws.client("s3"), settings.knowledge_bucket, settings.knowledge_key).document_hashes())


def test_sync_a_folder_incrementally_with_a_progress_bar(stack, tmp_path, capsys):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "returns.md").write_text(
        "# Returns\n## Window\nReturn within 45 days.\n## Refunds\nRefunds take 3 days.\n"
    )
    (tmp_path / "policies" / "shipping.html").write_text("<h1>Shipping</h1><h2>Costs</h2><p>Free over $50.</p>")
    store = indexed()  # what the import put in the store source: its articles, product pages (and policy)
    assert {d.id for d in documents_from_store(generate_store())} <= store
    assert main(["knowledge", "sync", str(tmp_path), "--base-url", "https://shop.example/help"]) == 0
    out = capsys.readouterr()
    # The folder is the help source: the imported store documents are not in it, and stay.
    assert (
        "2 documents: 2 added, 0 updated, 0 unchanged, 0 removed; 3 passages indexed, 0 removed (source help)"
        in out.out
    )
    assert "Embedding" in out.err and "3/3" in out.err, "a progress bar on the terminal"
    assert indexed() == store | {"help/policies/returns", "help/policies/shipping"}

    assert main(["knowledge", "sync", str(tmp_path), "--base-url", "https://shop.example/help", "--quiet"]) == 0
    assert "0 added, 0 updated, 2 unchanged, 0 removed; 0 passages indexed" in capsys.readouterr().out

    (tmp_path / "policies" / "returns.md").write_text("# Returns\n## Window\nReturn within 60 days.\n")
    (tmp_path / "policies" / "shipping.html").unlink()
    assert main(["knowledge", "sync", str(tmp_path), "--base-url", "https://shop.example/help", "--quiet"]) == 0
    assert "0 added, 1 updated, 0 unchanged, 1 removed; 1 passages indexed, 3 removed" in capsys.readouterr().out
    assert indexed() == store | {"help/policies/returns"}

    (tmp_path / "policies" / "returns.md").unlink()  # leave the demo help center as it was
    assert main(["knowledge", "sync", str(tmp_path), "--quiet"]) == 0
    assert indexed() == store


def test_a_bad_source_or_folder_is_refused_and_changes_nothing(stack, tmp_path, capsys):
    before = indexed()
    for name in ("store", "uploads", "Help", "help/faq", ""):
        assert main(["knowledge", "sync", str(tmp_path), "--source", name, "--quiet"]) == 2, name
    assert main(["knowledge", "sync", str(tmp_path / "no-such-folder"), "--quiet"]) == 2, (
        "a typo does not empty the source"
    )
    err = capsys.readouterr().err
    assert "--source store is reserved" in err and "invalid knowledge source name" in err and "is not a folder" in err
    assert indexed() == before


def test_a_sync_with_nothing_to_change_still_rewrites_an_index_of_the_previous_format(stack, tmp_path, capsys):
    """An index written before the flat-array format loads slowly on every cold start: the next sync rewrites it,
    even when no document changed."""
    from tests.unit.test_embedded_index_format import legacy_bytes

    settings = current_settings(IngestSettings)
    s3 = aws.client("s3")
    before = load_from_s3(s3, settings.knowledge_bucket, settings.knowledge_key)
    s3.put_object(Bucket=settings.knowledge_bucket, Key=settings.knowledge_key, Body=legacy_bytes(before))
    assert load_from_s3(s3, settings.knowledge_bucket, settings.knowledge_key).legacy_format
    (tmp_path / "empty").mkdir()
    assert main(["knowledge", "sync", str(tmp_path / "empty"), "--source", "nothing-here", "--quiet"]) == 0
    assert "0 passages indexed, 0 removed" in capsys.readouterr().out
    after = load_from_s3(s3, settings.knowledge_bucket, settings.knowledge_key)
    assert not after.legacy_format and after.document_hashes() == before.document_hashes()
