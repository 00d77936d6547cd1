"""`concierge import --local DIR`: a running local stack becomes the store in DIR, through the same import code."""
from __future__ import annotations

from concierge.evaluation import LocalHttpStack
from tests.integration.test_store_folder import say, store_dir  # noqa: F401  (the tea shop's folder fixture)


def test_a_store_can_be_imported_into_a_running_stack_over_http(store_dir, tmp_path):
    """`concierge import --local`: the demo stack becomes the tea shop, through the same import code."""
    from concierge.cli import main

    with LocalHttpStack() as demo:
        assert demo.stack.page_info["name"] == "Northwind Outfitters"
        assert main(["import", str(store_dir), "--local", demo.url]) == 0
        assert demo.stack.page_info["name"] == "Kettle & Leaf"
        body = say(demo, "hi", "after-import")
        assert "Kettle & Leaf AI assistant" in body["reply"]["text"]
