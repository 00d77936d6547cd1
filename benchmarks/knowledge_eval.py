"""Retrieval quality of the embedded knowledge index on the labelled set in evaluation/knowledge/.

Usage: python benchmarks/knowledge_eval.py [--k 5] [--json out.json]
Builds the index from the demo store through the product's own path (documents, hashing embedder, sync),
asks every question as the retrieval function does, and reports:
- recall@k: share of answerable questions with an expected passage in the top k;
- MRR: mean reciprocal rank of the first expected passage (answerable questions; 0 when absent from the top k);
- no-answer recognition: share of no_answer questions whose best hit is below the answer threshold;
- false no-answer: share of answerable questions whose best hit is below the threshold (the customer is told
  "I don't know" although the documents hold the answer).
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

SET = Path(__file__).resolve().parents[1] / "evaluation" / "knowledge" / "questions.jsonl"


def load(path: Path = SET) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def evaluate(k: int = 5) -> dict:
    from concierge.demo import generate_store
    from concierge.knowledge.documents import documents_from_store
    from concierge.knowledge.embedded import EmbeddedIndex
    from concierge.knowledge.embeddings import HashingEmbedder, embed_query
    from concierge.knowledge.port import ANSWER_THRESHOLD
    from concierge.knowledge.sync import sync
    from concierge.retrieval import search_query

    embedder = HashingEmbedder()
    index = EmbeddedIndex(embedder.dimensions, embedder.name)
    sync(documents_from_store(generate_store()), index, embedder)
    rows = []
    for item in load():
        query = search_query(item["question"])
        hits = index.search(query, embed_query(embedder, query), k=k)
        expected = {(e["document_id"], e["section"]) for e in item["expected"]}
        rank = next((n for n, h in enumerate(hits, 1) if (h.passage.document_id, h.passage.section) in expected), None)
        best = hits[0] if hits else None
        rows.append({
            "id": item["id"], "kind": item["kind"], "question": item["question"], "answerable": bool(expected),
            "rank": rank, "best": f"{best.passage.document_id} | {best.passage.section}" if best else None,
            "best_confidence": best.confidence if best else 0.0,
            "answered": bool(best and best.confidence >= ANSWER_THRESHOLD),
        })

    def metrics(subset: list[dict]) -> dict:
        answerable = [r for r in subset if r["answerable"]]
        unanswerable = [r for r in subset if not r["answerable"]]
        out: dict = {"questions": len(subset)}
        if answerable:
            out["recall_at_k"] = round(sum(r["rank"] is not None for r in answerable) / len(answerable), 3)
            out["mrr"] = round(sum(1 / r["rank"] for r in answerable if r["rank"]) / len(answerable), 3)
            out["false_no_answer"] = round(sum(not r["answered"] for r in answerable) / len(answerable), 3)
        if unanswerable:
            out["no_answer_recognised"] = round(sum(not r["answered"] for r in unanswerable) / len(unanswerable), 3)
        return out

    by_kind = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row)
    return {"k": k, "threshold": ANSWER_THRESHOLD, "overall": metrics(rows),
            "by_kind": {kind: metrics(group) for kind, group in sorted(by_kind.items())}, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = evaluate(args.k)
    overall = report["overall"]
    print(f"{overall['questions']} questions, k={args.k}, answer threshold {report['threshold']}")
    print(f"recall@{args.k} {overall['recall_at_k']:.3f}   MRR {overall['mrr']:.3f}   "
          f"no-answer recognised {overall['no_answer_recognised']:.3f}   false no-answer {overall['false_no_answer']:.3f}")
    for kind, m in report["by_kind"].items():
        print(f"  {kind:15} n={m['questions']:3} " + "  ".join(f"{key}={value}" for key, value in m.items() if key != "questions"))
    misses = [r for r in report["rows"] if (r["answerable"] and (r["rank"] is None or not r["answered"])) or (not r["answerable"] and r["answered"])]
    if misses:
        print("misses:")
        for r in misses:
            print(f"  {r['id']} [{r['kind']}] {r['question'][:70]!r} -> {r['best']} ({r['best_confidence']:.2f}), rank {r['rank']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
