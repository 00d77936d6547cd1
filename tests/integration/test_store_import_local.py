"""`concierge import --local DIR`: a running local stack becomes the store in DIR, through the same import code."""

from __future__ import annotations

from concierge.dev.evaluation import LocalHttpStack
from tests.integration.test_store_folder import say, store_dir  # noqa: F401  (the tea shop's folder fixture)


def test_a_store_can_be_imported_into_a_running_stack_over_http(store_dir, tmp_path):
    """`concierge import --local`: the demo stack becomes the tea shop, through the same import code."""
    from concierge.dev.cli import main

    with LocalHttpStack() as demo:
        assert demo.stack.page_info["name"] == "Northwind Outfitters"
        assert main(["import", str(store_dir), "--local", demo.url]) == 0
        assert demo.stack.page_info["name"] == "Kettle & Leaf"
        body = say(demo, "hi", "after-import")
        assert "Kettle & Leaf AI assistant" in body["reply"]["text"]


def test_a_help_folder_syncs_into_a_running_stack_and_keeps_the_store(tmp_path):
    """`concierge knowledge sync DIR --local`: a folder of its own source, beside the store's articles."""
    from concierge.dev.cli import main

    (tmp_path / "care.md").write_text(
        "# Care guide\n\n## How do I clean the grinder burrs?\nBrush the burrs with the "
        "supplied brush once a week and run a handful of rice-free grinder tablets.\n"
    )
    with LocalHttpStack() as demo:
        assert main(["knowledge", "sync", str(tmp_path), "--source", "guides", "--local", demo.url]) == 0
        care = say(demo, "how do I clean the grinder burrs?", "care")["reply"]
        assert "supplied brush" in care["text"]
        refunds = say(demo, "how long does a refund take?", "refunds")["reply"]
        assert "business days" in refunds["text"], "the store's own articles are still there"
