"""`concierge knowledge sync DIR`: a merchant's help-center folder into the index, with a progress bar; a second
run changes nothing; an edited file is re-indexed and a deleted one removed."""
from __future__ import annotations

from concierge.cli import main
from concierge.demo import generate_store
from concierge.knowledge.documents import documents_from_store
from concierge.knowledge.service import sync_knowledge
from concierge.settings import current_settings


def test_sync_a_folder_incrementally_with_a_progress_bar(stack, tmp_path, capsys):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "returns.md").write_text("# Returns\n## Window\nReturn within 45 days.\n## Refunds\nRefunds take 3 days.\n")
    (tmp_path / "policies" / "shipping.html").write_text("<h1>Shipping</h1><h2>Costs</h2><p>Free over $50.</p>")
    demo = len(documents_from_store(generate_store()))
    assert main(["knowledge", "sync", str(tmp_path), "--base-url", "https://shop.example/help"]) == 0
    out = capsys.readouterr()
    # The folder is the whole help center now: the demo documents that are not in it are removed.
    assert f"2 documents: 2 added, 0 updated, 0 unchanged, {demo} removed; 3 passages indexed" in out.out
    assert "Embedding" in out.err and "3/3" in out.err, "a progress bar on the terminal"

    assert main(["knowledge", "sync", str(tmp_path), "--base-url", "https://shop.example/help", "--quiet"]) == 0
    assert "0 added, 0 updated, 2 unchanged, 0 removed; 0 passages indexed" in capsys.readouterr().out

    (tmp_path / "policies" / "returns.md").write_text("# Returns\n## Window\nReturn within 60 days.\n")
    (tmp_path / "policies" / "shipping.html").unlink()
    assert main(["knowledge", "sync", str(tmp_path), "--base-url", "https://shop.example/help", "--quiet"]) == 0
    assert "0 added, 1 updated, 0 unchanged, 1 removed; 1 passages indexed, 3 removed" in capsys.readouterr().out
    sync_knowledge(current_settings(), documents_from_store(generate_store()))  # leave the demo help center as it was
