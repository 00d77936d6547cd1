"""The embedded knowledge index at scale: ingest throughput, load time and query latency at 10,000 and 100,000 passages.

Usage: python benchmarks/knowledge_index.py [--passages 10000 100000] [--queries 300] [--repeat 5] [--json FILE]
Generates a synthetic help center from the demo documents' vocabulary (documents of several sections, each
section one passage), splits and embeds it once through the product's own path (split, hashing embedder), then
for each size builds the embedded index from the first passages and measures:
- load: from the saved file (memory-mapped), from the file's bytes (as the retrieval function gets them from S3),
  and from those bytes written to a temporary file first; each until the first search has answered (so nothing a
  first search needs is left out), the median of --repeat loads;
- query: hybrid searches (question embedding + keyword + vector + candidates + confidence) on the index loaded from
  bytes, for realistic questions with and without filters, p50 and p99;
- peak memory: of a fresh process that reads the file's bytes, loads them and answers one search (Linux).
Prints one summary line per size, e.g. `knowledge index 100000 passages: load 0.025 s (from bytes 0.033 s, through a
temporary file 0.287 s), query p50 23.6 ms p99 35.8 ms`. One run on a shared machine: compare figures within a run,
not across runs. Splitting 100,000 passages takes minutes (the injection check of every passage).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def synthetic_documents(passages: int, seed: int = 11):
    from concierge.knowledge.documents import Document, documents_from_store, split
    from concierge.store.demo import generate_store

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


def corpus(passages: int) -> dict[str, Any]:
    """The synthetic help center's passages and their vectors, with the split and embedding throughput."""
    from concierge.knowledge.documents import split
    from concierge.knowledge.embeddings import HashingEmbedder, batched
    from concierge.knowledge.sync import embedding_text

    documents = synthetic_documents(passages)
    embedder = HashingEmbedder()
    started = time.perf_counter()
    split_passages = [p for d in documents for p in split(d)]
    split_s = time.perf_counter() - started
    started = time.perf_counter()
    vectors = batched(embedder, [embedding_text(p) for p in split_passages], batch_size=512)
    embed_s = time.perf_counter() - started
    return {
        "documents": len(documents),
        "passages": split_passages,
        "vectors": vectors,
        "embedder": embedder,
        "split_per_s": len(split_passages) / split_s,
        "embed_per_s": len(split_passages) / embed_s,
    }


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(
    index_class: Any, passages: list, vectors: Any, embedder: Any, queries: int, repeat: int, folder: Path
) -> dict:
    """Build an index of these passages with `index_class` (EmbeddedIndex's interface), save it in `folder`, and
    time its loads and searches. The loaded index must answer every question exactly as the built one."""
    from concierge.knowledge.embeddings import embed_query
    from concierge.knowledge.port import SearchFilters

    first_question = QUESTIONS[0]
    first_vector = embed_query(embedder, first_question)
    index = index_class(embedder.dimensions, embedder.name)
    started = time.perf_counter()
    index.upsert(passages, vectors)
    index.search(first_question, first_vector)  # an index that builds its postings lazily builds them here
    build_s = time.perf_counter() - started

    path = folder / f"index-{len(passages)}"
    started = time.perf_counter()
    index.save(path)
    save_s = time.perf_counter() - started
    data = path.read_bytes()

    def from_file(where: Path = path) -> Any:
        loaded = index_class.load(where)
        loaded.search(first_question, first_vector)
        return loaded

    def from_bytes() -> Any:
        loaded = index_class.from_bytes(data)
        loaded.search(first_question, first_vector)
        return loaded

    def through_a_temporary_file() -> Any:
        copy = folder / "copy"
        copy.write_bytes(data)
        return from_file(copy)

    def timed_load(load: Any) -> tuple[float, Any]:
        times, loaded = [], None
        for _ in range(repeat):
            started = time.perf_counter()
            loaded = load()
            times.append(time.perf_counter() - started)
        return statistics.median(times), loaded

    load_file_s, _ = timed_load(from_file)
    load_tmp_s, _ = timed_load(through_a_temporary_file)
    load_bytes_s, loaded = timed_load(from_bytes)

    filters = SearchFilters(locale="en-US", product_id="trail-jacket")
    for question in QUESTIONS:
        vector = embed_query(embedder, question)
        for f in (None, filters):
            built = [(h.passage.id, h.score, h.confidence) for h in index.search(question, vector, k=5, filters=f)]
            read = [(h.passage.id, h.score, h.confidence) for h in loaded.search(question, vector, k=5, filters=f)]
            if built != read:
                raise AssertionError(f"the loaded index answers {question!r} differently from the built one")

    def timed(search_filters: Any) -> list[float]:
        samples = []
        for n in range(queries):
            question = QUESTIONS[n % len(QUESTIONS)]
            started = time.perf_counter()
            loaded.search(question, embed_query(embedder, question), k=5, filters=search_filters)
            samples.append((time.perf_counter() - started) * 1000)
        return samples

    plain, filtered = timed(None), timed(filters)
    return {
        "passages": len(passages),
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "build_per_s": round(len(passages) / build_s),
        "save_s": round(save_s, 3),
        "load_file_s": round(load_file_s, 4),
        "load_bytes_s": round(load_bytes_s, 4),
        "load_via_temporary_file_s": round(load_tmp_s, 4),
        "query_p50_ms": round(statistics.median(plain), 2),
        "query_p99_ms": round(percentile(plain, 0.99), 2),
        "filtered_query_p50_ms": round(statistics.median(filtered), 2),
        "filtered_query_p99_ms": round(percentile(filtered, 0.99), 2),
        "path": str(path),
    }


PEAK_MEMORY = """
import sys
from pathlib import Path
from concierge.knowledge.embedded import EmbeddedIndex
from concierge.knowledge.embeddings import HashingEmbedder, embed_query

def peak():  # this process's own high-water mark (ru_maxrss would carry the parent's over exec on Linux)
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))

vector = embed_query(HashingEmbedder(), "how long does a refund take")
before = peak()
EmbeddedIndex.from_bytes(Path(sys.argv[1]).read_bytes()).search("how long does a refund take", vector)
print(before, peak())
"""


def peak_memory_mb(path: str) -> tuple[float, float] | None:
    """Peak resident memory of a fresh process, in MB: after its imports, and after reading the index's bytes,
    loading it and answering one search (what the retrieval function's memory size must hold). Linux only."""
    if not Path("/proc/self/status").exists():
        return None
    output = subprocess.run([sys.executable, "-c", PEAK_MEMORY, path], check=True, capture_output=True, text=True)
    before, after = (int(v) / 1024 for v in output.stdout.split())
    return round(before, 1), round(after, 1)


def summary(result: dict) -> str:
    temporary = result["load_via_temporary_file_s"]
    return (
        f"knowledge index {result['passages']} passages: load {result['load_file_s']:.3f} s "
        f"(from bytes {result['load_bytes_s']:.3f} s, through a temporary file {temporary:.3f} s), "
        f"query p50 {result['query_p50_ms']:.1f} ms p99 {result['query_p99_ms']:.1f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5, help="loads per measurement (the median is reported)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    from concierge.knowledge.embedded import EmbeddedIndex

    sizes = sorted(set(args.passages))
    data = corpus(max(sizes))
    passages, vectors = data["passages"], data["vectors"]
    print(f"corpus: {len(passages):,} passages in {data['documents']:,} documents")
    print(f"split: {data['split_per_s']:,.0f} passages/s; embed: {data['embed_per_s']:,.0f} passages/s (256 dims)")
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            result = measure(
                EmbeddedIndex,
                passages[:size],
                vectors[:size],
                data["embedder"],
                args.queries,
                args.repeat,
                Path(folder),
            )
            memory = peak_memory_mb(result.pop("path"))
            result["memory_after_imports_mb"], result["peak_memory_mb"] = memory or (None, None)
        results.append(result)
        print(
            f"  {size:,} passages: {result['file_mb']} MB file, build {result['build_per_s']:,} passages/s, "
            f"save {result['save_s']:.2f} s, peak memory {result['peak_memory_mb']} MB "
            f"({result['memory_after_imports_mb']} MB before the index was read), "
            f"filtered query p50 {result['filtered_query_p50_ms']:.1f} ms p99 {result['filtered_query_p99_ms']:.1f} ms"
        )
        print(summary(result))
    if args.json:
        report = {
            "summary": [
                [
                    f"knowledge index, {r['passages']:,} passages: load (file / S3 bytes, s), query p50 / p99 (ms)",
                    f"{r['load_file_s']} / {r['load_bytes_s']}, {r['query_p50_ms']} / {r['query_p99_ms']}",
                ]
                for r in results
            ],
            "split_per_s": round(data["split_per_s"]),
            "embed_per_s": round(data["embed_per_s"]),
            "queries": args.queries,
            "repeat": args.repeat,
            "sizes": results,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
