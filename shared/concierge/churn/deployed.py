"""Where the trained churn model lives when deployed: in the store table, beside merchant.json's profile
(store/merchant.py `ProfileStore`), as two items of the merchant's partition:

    pk=MERCHANT  sk=CHURN_MODEL            version (a digest of the artifact), previous, kind, trained_at, deployed_at
    pk=MERCHANT  sk=CHURN_MODEL#<version>  the artifact (concierge-churn/1 JSON, zlib-compressed), deployed_at

`concierge churn deploy --model M` writes the artifact, then points to it (a reader never finds a pointer to nothing),
and keeps the previous artifact for a process that read the pointer just before. The actions function reads the small
pointer once per scoring page and the artifact only when the version changed: a warm process keeps the model and its
arrays (`Scorer`) between invocations. No model deployed: `current()` is None, and scoring does nothing.

Nothing here imports numpy at import: the scorer is loaded with the first model read.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from concierge.churn.scorer import ChurnModel, Scorer

# A DynamoDB item holds at most 400 KB; the artifact is about 110 kB of JSON (30 kB compressed) for the trees.
MAX_BYTES = 350_000


@dataclass(frozen=True)
class DeployedModel:
    version: str
    deployed_at: datetime
    model: ChurnModel
    scorer: Scorer


class DeployedModels:
    """The deployed churn model of the store table (a boto3 DynamoDB Table: boto3 publishes no types)."""

    POINTER: ClassVar[dict[str, str]] = {"pk": "MERCHANT", "sk": "CHURN_MODEL"}  # in the store table

    def __init__(self, table: Any) -> None:
        self._table = table
        self._cached: DeployedModel | None = None

    @staticmethod
    def _artifact_key(version: str) -> dict[str, str]:
        return {"pk": "MERCHANT", "sk": f"CHURN_MODEL#{version}"}  # in the store table

    @staticmethod
    def version_of(model: ChurnModel) -> str:
        return hashlib.sha256(model.model_dump_json().encode()).hexdigest()[:16]

    def deploy(self, model: ChurnModel, at: datetime) -> str:
        """Store the artifact and point to it; its version. ChurnModelError when it is too large for an item."""
        from concierge.churn.scorer import ChurnModelError

        text = model.model_dump_json()
        version = self.version_of(model)
        packed = zlib.compress(text.encode(), 9)
        if len(packed) > MAX_BYTES:
            raise ChurnModelError(
                f"the model is {len(packed)} bytes compressed, more than the {MAX_BYTES} a store-table item can hold"
            )
        pointer = self._table.get_item(Key=self.POINTER, ConsistentRead=True).get("Item") or {}
        self._table.put_item(Item={**self._artifact_key(version), "model": packed, "deployed_at": at.isoformat()})
        current = pointer.get("version")
        self._table.put_item(
            Item={
                **self.POINTER,
                "version": version,
                "previous": current if current and current != version else pointer.get("previous", ""),
                "kind": model.model.kind,
                "trained_at": model.trained_at.isoformat(),
                "deployed_at": at.isoformat(),
            }
        )
        older = pointer.get("previous")
        if older and older not in (version, current):  # two deployments back: no process reads it any more
            self._table.delete_item(Key=self._artifact_key(str(older)))
        return version

    def pointer(self) -> dict[str, str] | None:
        """What is deployed (version, kind, trained_at, deployed_at), without the artifact; None: nothing."""
        item = self._table.get_item(Key=self.POINTER).get("Item")
        return {k: str(v) for k, v in item.items() if k not in ("pk", "sk")} if item else None

    def current(self) -> DeployedModel | None:
        """The deployed model, read again only when its version changed since this process last read it; None when
        none is deployed."""
        from concierge.churn.scorer import Scorer, parse_model

        pointer = self.pointer()
        if pointer is None:
            return None
        version = pointer["version"]
        if self._cached is not None and self._cached.version == version:
            return self._cached
        item = self._table.get_item(Key=self._artifact_key(version)).get("Item")
        if item is None:
            return None
        packed = item["model"]
        raw = bytes(getattr(packed, "value", packed))  # boto3 gives a Binary
        model = parse_model(zlib.decompress(raw).decode(), f"the deployed churn model {version}")
        self._cached = DeployedModel(
            version=version,
            deployed_at=datetime.fromisoformat(str(item["deployed_at"])),
            model=model,
            scorer=Scorer(model),
        )
        return self._cached
