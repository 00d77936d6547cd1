"""`python -m infra.app` (or `make synth`): synthesizes the stack to cdk.out/ without AWS credentials.

Merchant settings come from CDK context (`-c merchantName=...` with the CDK CLI, or cdk.json); what is not given
there is the default the functions' settings declare (concierge.platform.settings.MERCHANT_DEFAULTS)."""

from __future__ import annotations

import json
import os
from typing import Any

import aws_cdk as cdk

from concierge.platform.settings import MERCHANT_DEFAULTS, parse_origins
from infra.constructs.compute import Merchant
from infra.stack import ConciergeStack


def merchant_from(app: cdk.App) -> Merchant:
    def context(key: str, default: Any) -> Any:  # context values are JSON
        value = app.node.try_get_context(key)
        return default if value is None else value

    return Merchant(
        name=str(context("merchantName", MERCHANT_DEFAULTS.name)),
        sender_email=str(context("senderEmail", MERCHANT_DEFAULTS.sender_email)),
        return_window_days=int(context("returnWindowDays", MERCHANT_DEFAULTS.return_window_days)),
        memory_ttl_days=int(context("memoryTtlDays", MERCHANT_DEFAULTS.memory_ttl_days)),
        max_auto_refund=str(context("maxAutoRefund", MERCHANT_DEFAULTS.max_auto_refund)),
        approval_timeout_hours=float(context("approvalTimeoutHours", MERCHANT_DEFAULTS.approval_timeout_hours)),
        notify_email=str(context("notifyEmail", "")),
        # the CLI may hand JSON context over already parsed
        support_hours=(lambda v: v if isinstance(v, str) else json.dumps(v))(context("supportHours", "")),
        inbound_email_recipient=str(context("inboundEmailRecipient", "")),
        whatsapp_phone_number_id=str(context("whatsappPhoneNumberId", "")),
        embedder=str(context("embedder", "hashing")),
        embedding_dimensions=int(context("embeddingDimensions", 256)),
        knowledge_index=str(context("knowledgeIndex", "embedded")),
        model_provider=str(context("modelProvider", "none")),
        model=str(context("model", "")),
        judge_model=str(context("judgeModel", "")),
        allowed_origins=parse_origins(context("allowedOrigins", "")),
        sign_in_domain_prefix=str(context("signInDomainPrefix", "")),
    )


def build(app: cdk.App) -> ConciergeStack:
    return ConciergeStack(
        app,
        "Concierge",
        merchant=merchant_from(app),
        description="Concierge: AI customer experience in the merchant's own AWS account.",
    )


def main() -> None:
    # The CDK CLI passes its output folder in CDK_OUTDIR; run directly, write to cdk.out/ beside the code.
    app = cdk.App(outdir=None if "CDK_OUTDIR" in os.environ else "cdk.out")
    build(app)
    assembly = app.synth()
    print(f"Synthesized {', '.join(s.stack_name for s in assembly.stacks)} to {assembly.directory}")


if __name__ == "__main__":
    main()
