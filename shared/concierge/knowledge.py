"""The embedded knowledge index: help-center articles split into passages, BM25 keyword scoring, persisted as
JSON in S3 and loaded once per warm retrieval function. Retrieved text is data: nothing here interprets it."""
from __future__ import annotations

import json
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from concierge.models import Article, Product

# Hits below this confidence are not used to answer: the agent says it does not know and offers a human.
ANSWER_THRESHOLD = 0.55
K1, B = 1.2, 0.75
STOPWORDS = frozenset(
    "a an and are as at be by can could do does for from how i if in is it its me my of on or our so that the "
    "their them there this to was we what when where which who why will with you your yours i'm im get got long take "
    "much many need want know tell please like would should any have has just about".split()
)


class Passage(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    article_id: str
    title: str
    section: str
    url: str
    locale: str
    text: str


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    confidence: float


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def stem(word: str) -> str:
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + keep
    return word


CONTRACTION = re.compile(r"['’](s|re|ve|ll|d|m|t)\b")


# Questions about duration are answered in days ("3 to 5 business days"): "how long" searches for them.
HOW_LONG = re.compile(r"\bhow (long|soon|many days)\b")


def terms(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", HOW_LONG.sub(" days ", CONTRACTION.sub("", text.lower())))
    return [stem(w) for w in words if w not in STOPWORDS]


def split_article(article: Article) -> list[Passage]:
    sections: list[tuple[str, list[str]]] = [("", [])]
    for line in article.body.splitlines():
        if line.startswith("## "):
            sections.append((line[3:].strip(), []))
        elif not line.startswith("# "):
            sections[-1][1].append(line)
    passages = []
    for heading, lines in sections:
        text = re.sub(r"[*_`>#]", "", "\n".join(lines)).strip()
        if not text:
            continue
        passages.append(
            Passage(
                id=f"{article.id}#{len(passages)}",
                article_id=article.id,
                title=article.title,
                section=heading,
                url=f"{article.url}#{_slug(heading)}" if heading else article.url,
                locale=article.locale,
                text=text,
            )
        )
    return passages


def product_article(product: Product) -> Article:
    """A product page as a help-center article: one passage on its material, one on its fit."""
    sections = [f"# {product.title}", "## Overview", product.description]
    if product.material:
        material = product.material.rstrip(".")
        material = material[0].lower() + material[1:] if material[1:2].islower() else material
        sections += ["## Material: what is it made of?", f"The {product.title} is made of {material}."]
    if product.fit:
        fit = product.fit[0].lower() + product.fit[1:]
        sections += ["## Fit and sizing: does it run small or large?", f"The {product.title} {fit}" if fit.startswith(("runs", "is", "has")) else f"The {product.title}: {fit}"]
    return Article(
        id=f"product-{product.id}", title=product.title, url=product.url, topic="product", body="\n".join(sections)
    )


class KeywordIndex:
    def __init__(self, passages: list[Passage]) -> None:
        self.passages = list(passages)
        self._tf = [Counter(terms(f"{p.title} {p.section} {p.section} {p.text}")) for p in self.passages]
        self._lengths = [sum(tf.values()) for tf in self._tf]
        self._avg = (sum(self._lengths) / len(self._lengths)) if self._lengths else 1.0
        df = Counter(term for tf in self._tf for term in tf)
        n = len(self.passages)
        self._idf = {term: math.log(1 + (n - d + 0.5) / (d + 0.5)) for term, d in df.items()}
        # A word the help center never uses counts like a typical word: it lowers confidence without vetoing
        # an otherwise well-covered question ("warranty on boots" when the article says "footwear").
        self._unknown_weight = statistics.median(self._idf.values()) if self._idf else 1.0

    @classmethod
    def build(cls, passages: list[Passage]) -> "KeywordIndex":
        return cls(passages)

    def article_ids(self) -> set[str]:
        return {p.article_id for p in self.passages}

    def remove_article(self, article_id: str) -> "KeywordIndex":
        return KeywordIndex([p for p in self.passages if p.article_id != article_id])

    def search(self, query: str, k: int = 5, locale: str | None = None) -> list[Hit]:
        query_terms = [t for t in dict.fromkeys(terms(query)) if t in self._idf]
        content_terms = set(terms(query))
        if not query_terms or not content_terms:
            return []
        hits = []
        for i, passage in enumerate(self.passages):
            if locale and not passage.locale.startswith(locale.split("-")[0]):
                continue
            tf = self._tf[i]
            matched = [t for t in query_terms if t in tf]
            if not matched:
                continue
            norm = K1 * (1 - B + B * self._lengths[i] / self._avg)
            score = sum(self._idf[t] * tf[t] * (K1 + 1) / (tf[t] + norm) for t in matched)
            # Confidence: how much of the question the passage covers, weighted by term rarity (idf), so that a
            # passage sharing only a common word ("order") with an off-topic question stays below the threshold.
            covered = sum(self._idf[t] for t in matched)
            total = sum(self._idf.get(t, self._unknown_weight) for t in content_terms)
            hits.append(Hit(passage=passage, score=score, confidence=covered / total))
        hits.sort(key=lambda h: (h.confidence * h.score), reverse=True)
        return hits[:k]

    def to_json(self) -> str:
        return json.dumps({"version": 1, "passages": [p.model_dump() for p in self.passages]})

    @classmethod
    def from_json(cls, text: str) -> "KeywordIndex":
        document = json.loads(text)
        if document.get("version") != 1:
            raise ValueError(f"unsupported index version {document.get('version')!r}")
        return cls([Passage.model_validate(p) for p in document["passages"]])


def save_index(index: KeywordIndex, s3_client, bucket: str, key: str) -> None:
    s3_client.put_object(Bucket=bucket, Key=key, Body=index.to_json().encode(), ContentType="application/json")


def load_index(s3_client, bucket: str, key: str) -> KeywordIndex:
    return KeywordIndex.from_json(s3_client.get_object(Bucket=bucket, Key=key)["Body"].read().decode())


class IndexCache:
    """Loads the index once per process; re-reads it only when the S3 object's ETag changes."""

    def __init__(self) -> None:
        self._etag: str | None = None
        self._index: KeywordIndex | None = None

    def get(self, s3_client, bucket: str, key: str) -> KeywordIndex | None:
        try:
            etag = s3_client.head_object(Bucket=bucket, Key=key)["ETag"]
        except s3_client.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None  # nothing imported yet: answer without passages
            raise
        if etag != self._etag:
            self._index, self._etag = load_index(s3_client, bucket, key), etag
        return self._index
