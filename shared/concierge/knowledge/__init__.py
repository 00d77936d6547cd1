"""Knowledge: the merchant's documents, split into passages, embedded and indexed for hybrid retrieval.

- documents.py   parse Markdown/HTML/text; split by headings with overlap; flag text addressed to an AI
- embeddings.py  the embeddings port: Titan Text Embeddings v2 (Bedrock), a local hashing embedder
- port.py        the index port (Passage, Hit, SearchFilters, ANSWER_THRESHOLD)
- embedded.py    the embedded index (numpy; file or S3)      - opensearch.py  the OpenSearch adapter
- sync.py        incremental, idempotent sync                 - scoring.py     hybrid rank and confidence
"""

from concierge.knowledge.port import ANSWER_THRESHOLD, POLICY_URL, Hit, Passage, SearchFilters
from concierge.knowledge.text import STOPWORDS, terms

__all__ = ["ANSWER_THRESHOLD", "POLICY_URL", "STOPWORDS", "Hit", "Passage", "SearchFilters", "terms"]
