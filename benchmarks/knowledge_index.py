"""The embedded knowledge index at scale: ingest throughput and query latency for 100,000 passages.

Usage: python benchmarks/knowledge_index.py [--passages 100000] [--queries 300]
Generates a synthetic help center from the demo documents' vocabulary (documents of several sections, each
section one passage), syncs it through the product's own path (split, hashing embedder, embedded index), then
times hybrid searches (keyword + vector + candidates + confidence) for realistic questions with and without
filters. Reports passages/s for embedding and for indexing, load time from the .npz, and query p50/p99.
One run on a shared machine: compare ratios within a run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path


def synthetic_documents(passages: int, seed: int = 11):
    from concierge.demo import generate_store
    from concierge.knowledge.documents import Document, documents_from_store, split

    rng = random.Random(seed)
    base = documents_from_store(generate_store())
    sentences = [s.strip() + "." for d in base for p in split(d) for s in p.text.split(".") if len(s.split()) > 4]
    headings = sorted({p.section for d in base for p in split(d) if p.section})
    locales = ["en", "en", "en", "en-GB", "fr", "de"]
    products = [d.product_ids[0] for d in base if d.product_ids]
    documents, made = [], 0
    while made < passages:
        sections = min(rng.randint(3, 8), passages - made)
        body = "\n".join(
            f"## {rng.choice(headings)} {n}\n" + " ".join(rng.choice(sentences) for _ in range(rng.randint(2, 5)))
            for n in range(sections)
        )
        number = len(documents)
        documents.append(
            Document(
                id=f"doc-{number:06d}",
                title=f"Help article {number}",
                url=f"/help/doc-{number:06d}",
                locale=rng.choice(locales),
                product_ids=(rng.choice(products),) if rng.random() < 0.3 else (),
                body=body,
            )
        )
        made += sections
    return documents


QUESTIONS = [
    "how long does a refund take",
    "do you ship to canada",
    "what is the trail shell jacket made of",
    "can I return underwear",
    "does the running shoe run small",
    "how much is express shipping",
    "is there a warranty on boots",
    "do you accept paypal",
    "waterprof jaket",
    "where is my parcel",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()

    from concierge.knowledge.documents import split
    from concierge.knowledge.embedded import EmbeddedIndex
    from concierge.knowledge.embeddings import HashingEmbedder, batched
    from concierge.knowledge.port import SearchFilters
    from concierge.knowledge.sync import embedding_text

    documents = synthetic_documents(args.passages)
    embedder = HashingEmbedder()

    started = time.perf_counter()
    passages = [p for d in documents for p in split(d)]
    split_s = time.perf_counter() - started

    started = time.perf_counter()
    vectors = batched(embedder, [embedding_text(p) for p in passages], batch_size=512)
    embed_s = time.perf_counter() - started

    index = EmbeddedIndex(embedder.dimensions, embedder.name)
    started = time.perf_counter()
    index.upsert(passages, vectors)
    index.search("warm up", embedder.embed(["warm up"])[0])  # builds the postings
    index_s = time.perf_counter() - started

    path = Path(tempfile.mkdtemp()) / "index.npz"
    started = time.perf_counter()
    index.save(path)
    save_s = time.perf_counter() - started
    started = time.perf_counter()
    loaded = EmbeddedIndex.load(path)
    loaded.search("warm up", embedder.embed(["warm up"])[0])
    load_s = time.perf_counter() - started

    def timed(filters) -> list[float]:
        samples = []
        for n in range(args.queries):
            question = QUESTIONS[n % len(QUESTIONS)]
            t = time.perf_counter()
            index.search(question, embedder.embed([question])[0], k=5, filters=filters)
            samples.append((time.perf_counter() - t) * 1000)
        return sorted(samples)

    def pct(samples: list[float], q: float) -> float:
        return samples[min(len(samples) - 1, int(q * len(samples)))]

    plain, filtered = timed(None), timed(SearchFilters(locale="en-US", product_id="trail-jacket"))
    print(f"passages: {len(passages):,} in {len(documents):,} documents; {path.stat().st_size / 1e6:.1f} MB on disk")
    print(f"split:    {len(passages) / split_s:,.0f} passages/s")
    print(f"embed:    {len(passages) / embed_s:,.0f} passages/s (hashing embedder, 256 dims)")
    print(f"index:    {len(passages) / index_s:,.0f} passages/s (upsert + postings build)")
    print(
        f"ingest end to end: {len(passages) / (split_s + embed_s + index_s):,.0f} passages/s "
        f"({split_s + embed_s + index_s:.1f} s)"
    )
    print(f"save {save_s:.1f} s, load {load_s:.1f} s")
    print(f"query (embed + hybrid search, k=5), {args.queries} queries:")
    print(f"  no filter:               p50 {statistics.median(plain):.2f} ms  p99 {pct(plain, 0.99):.2f} ms")
    print(f"  locale + product filter: p50 {statistics.median(filtered):.2f} ms  p99 {pct(filtered, 0.99):.2f} ms")


if __name__ == "__main__":
    main()
