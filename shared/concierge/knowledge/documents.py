"""Merchant documents and their passages: parse Markdown, HTML or plain text; split by headings with overlap.

A document's `content_hash` covers everything that shapes its passages, so an unchanged document is skipped
by an incremental sync and any change re-indexes it.

Every document in a knowledge index belongs to one **source**, named by its id's first segment: the store
import (`store/returns`, `store/product-trail-jacket`), each synced help folder (`help/faq/shipping` by
default) and the files uploaded to the knowledge bucket (`uploads/faq/shipping`). A sync adds, updates and
removes documents within its own source only. The prefix is in the id alone: URLs and citations do not show it.
"""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from concierge.knowledge.port import POLICY_URL, Passage
from concierge.store.models import Article, Product, StoreData

if TYPE_CHECKING:
    from concierge.store.merchant import MerchantProfile

# A long section is cut into windows of this many words, each repeating the previous window's last OVERLAP
# words, so that an answer spanning a cut is still whole in one passage.
MAX_WORDS = 140
OVERLAP = 30
FORMATS = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".txt": "text"}
# A document id without its source: a file's path without the extension, an article id, product-<id>.
LOCAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,199}")
SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
STORE_SOURCE = "store"  # `concierge import`: articles and product pages
UPLOADS_SOURCE = "uploads"  # files uploaded under the knowledge bucket's documents/
FOLDER_SOURCE = "help"  # `concierge knowledge sync DIR` without --source


def check_source(name: str) -> str:
    if not isinstance(name, str) or not SOURCE_NAME.fullmatch(name):
        raise ValueError(
            f"invalid knowledge source name {name!r}: 1 to 40 of a-z, 0-9, '_' and '-', starting with a letter or digit"
        )
    return name


def source_id(source: str, local_id: str) -> str:
    """The id of a document of `source` ("help", "faq/shipping" -> "help/faq/shipping")."""
    if not LOCAL_ID.fullmatch(local_id):
        raise ValueError(f"invalid document id {local_id!r}")
    return f"{check_source(source)}/{local_id}"


def is_legacy_id(document_id: str) -> bool:
    """An id from an index built before sources: every id of a source has a '/', these ids had none (unless
    they came from a file in a subfolder, which an id cannot tell from a source's)."""
    return "/" not in document_id


class Document(BaseModel):
    model_config = ConfigDict(frozen=True)

    # "<source>/<local id>": a source name (at most 40 characters), '/', a local id (at most 200).
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,240}$")
    title: str
    url: str
    locale: str = "en"
    product_ids: tuple[str, ...] = ()
    topic: str = ""
    body: str = Field(description="Markdown: '## ' and '### ' headings split it into sections")

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:32]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _sections(body: str) -> list[tuple[str, list[str]]]:
    sections: list[tuple[str, list[str]]] = [("", [])]
    parent = ""
    for line in body.splitlines():
        if line.startswith("## "):
            parent = line[3:].strip()
            sections.append((parent, []))
        elif line.startswith("### "):
            heading = line[4:].strip()
            sections.append((f"{parent} › {heading}" if parent else heading, []))
        elif not line.startswith("# "):
            sections[-1][1].append(line)
    return sections


def _windows(words: list[str]) -> list[list[str]]:
    if len(words) <= MAX_WORDS:
        return [words]
    step = MAX_WORDS - OVERLAP
    return [words[start : start + MAX_WORDS] for start in range(0, len(words) - OVERLAP, step)]


def split(document: Document) -> list[Passage]:
    passages: list[Passage] = []
    digest = document.content_hash
    # The classifier only where documents are split (a sync, an import): the agent reads this module's constants.
    from concierge.knowledge.injection import is_suspicious

    for heading, lines in _sections(document.body):
        text = re.sub(r"[*_`>#]", "", "\n".join(lines)).strip()
        if not text:
            continue
        url = f"{document.url}#{_slug(heading.split(' › ')[-1])}" if heading else document.url
        for window in _windows(text.split()):
            chunk = " ".join(window)
            passages.append(
                Passage(
                    id=f"{document.id}#{len(passages)}",
                    document_id=document.id,
                    title=document.title,
                    section=heading,
                    url=url,
                    locale=document.locale,
                    product_ids=document.product_ids,
                    text=chunk,
                    ordinal=len(passages),
                    document_hash=digest,
                    # Text that addresses an AI or asks for a secret: indexed (so it can be found and removed) but
                    # never quoted to a customer nor shown to a model (knowledge/injection.py).
                    suspicious=is_suspicious(chunk),
                )
            )
    return passages


# sources -------------------------------------------------------------------------------------
def from_article(article: Article) -> Document:
    return Document(
        id=article.id,
        title=article.title,
        url=article.url,
        locale=article.locale,
        topic=article.topic,
        body=article.body,
    )


def from_product(product: Product) -> Document:
    """A product page as a document: its overview, material and fit, each a passage."""
    sections = [f"# {product.title}", "## Overview", product.description]
    if product.material:
        material = product.material.rstrip(".")
        material = material[0].lower() + material[1:] if material[1:2].islower() else material
        sections += ["## Material: what is it made of?", f"The {product.title} is made of {material}."]
    if product.fit:
        fit = product.fit[0].lower() + product.fit[1:]
        sentence = (
            f"The {product.title} {fit}" if fit.startswith(("runs", "is", "has")) else f"The {product.title}: {fit}"
        )
        sections += ["## Fit and sizing: does it run small or large?", sentence]
    if not product.returnable:
        sections += ["## Can it be returned?", f"The {product.title} is final sale: it can't be returned or exchanged."]
    return Document(
        id=f"product-{product.id}",
        title=product.title,
        url=product.url,
        topic="product",
        product_ids=(product.id,),
        body="\n".join(sections),
    )


def from_merchant(merchant: MerchantProfile) -> Document:
    """merchant.json's policy as a help-center document: its numbers answer questions its articles may not."""
    body = "\n".join(f"## {question}\n{answer.strip()}\n" for question, answer in merchant.policy_sections())
    return Document(id="merchant-policy", title=f"{merchant.name} policies", url=POLICY_URL, topic="policy", body=body)


def in_source(source: str, document: Document) -> Document:
    """The document as one of `source`'s: only its id changes (its URL, and so its citations, do not)."""
    return document.model_copy(update={"id": source_id(source, document.id)})


def documents_from_store(
    data: StoreData, source: str = STORE_SOURCE, merchant: MerchantProfile | None = None
) -> list[Document]:
    """The store's articles and product pages, and merchant.json's policy, as documents of the store source
    (`store/<article id>`, `store/product-<product id>`, `store/merchant-policy`)."""
    documents = [*(from_article(a) for a in data.articles), *(from_product(p) for p in data.products)]
    if merchant is not None:
        documents.append(from_merchant(merchant))
    return [in_source(source, d) for d in documents]


class _HtmlToMarkdown(HTMLParser):
    """Headings become Markdown headings (h1 '#', h2 '##', h3+ '###'); script, style and nav are dropped."""

    SKIP: ClassVar[set[str]] = {"script", "style", "nav", "footer", "header", "noscript"}
    BLOCK: ClassVar[set[str]] = {"p", "div", "li", "br", "tr", "section", "article", "ul", "ol", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.skipping = 0
        self.title = ""
        self._in_title = False
        self._heading: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag == "title":
            self._in_title = True
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._heading = {"h1": "# ", "h2": "## "}.get(tag, "### ")
            self.lines.append(self._heading)
        elif tag in self.BLOCK:
            self.lines.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "title":
            self._in_title = False
        elif tag.startswith("h") and tag[1:].isdigit():
            self._heading = None
            self.lines.append("")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data.strip()
        elif not self.skipping and data.strip():
            self.lines[-1] += (" " if self.lines[-1] and not self.lines[-1].endswith(" ") else "") + " ".join(
                data.split()
            )


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end < 0:
        return {}, text
    meta = {}
    for line in text[4:end].splitlines():
        key, _, value = line.partition(":")
        if key.strip():
            meta[key.strip().lower()] = value.strip().strip('"')
    return meta, text[end + 4 :].lstrip("\n")


def parse_file(
    path: Path, root: Path, base_url: str = "/help", locale: str = "en", source: str | None = None
) -> Document:
    """One help-center file as a Document. Markdown may carry front matter (title, url, locale, products)."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    return parse_source(path.relative_to(root).as_posix(), raw, base_url, locale, source)


def document_id(relative_path: str) -> str:
    """The local id of the document a file becomes: its path without the extension ("faq/shipping.html" ->
    "faq/shipping"); source_id() puts it in a source."""
    stem = relative_path.rsplit(".", 1)[0] if "." in relative_path.rsplit("/", 1)[-1] else relative_path
    return stem if LOCAL_ID.fullmatch(stem) else _slug(stem).replace("-", "_")[:200]


def parse_source(
    relative_path: str, raw: str, base_url: str = "/help", locale: str = "en", source: str | None = None
) -> Document:
    """A help-center file's text as a Document; the format comes from the file name's extension. With a
    `source`, its id is `<source>/<path without the extension>`; its URL is the same either way."""
    suffix = "." + relative_path.rsplit(".", 1)[-1].lower() if "." in relative_path else ""
    kind = FORMATS.get(suffix)
    if kind is None:
        raise ValueError(f"{relative_path}: unsupported format (use {', '.join(sorted(FORMATS))})")
    relative = document_id(relative_path)
    name = relative_path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    meta: dict[str, str] = {}
    if kind == "html":
        parser = _HtmlToMarkdown()
        parser.feed(raw)
        body = "\n".join(line.rstrip() for line in parser.lines).strip()
        title = parser.title or next((line[2:] for line in body.splitlines() if line.startswith("# ")), "")
    elif kind == "markdown":
        meta, body = _front_matter(raw)
        title = meta.get("title") or next((line[2:].strip() for line in body.splitlines() if line.startswith("# ")), "")
    else:
        body = raw.strip()
        title = body.splitlines()[0].strip() if body else ""
        body = "\n".join(body.splitlines()[1:])
    products = tuple(p.strip() for p in meta.get("products", "").split(",") if p.strip())
    return Document(
        id=source_id(source, relative) if source is not None else relative,
        title=title or name.replace("-", " ").replace("_", " ").title(),
        url=meta.get("url") or f"{base_url.rstrip('/')}/{relative}",
        locale=meta.get("locale", locale),
        product_ids=products,
        body=body,
    )


def load_directory(
    root: Path, base_url: str = "/help", locale: str = "en", source: str | None = None
) -> list[Document]:
    """Every supported file under `root`; with a `source`, as that source's documents (what sync_knowledge needs)."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in FORMATS)
    return [parse_file(path, root, base_url, locale, source) for path in files]
