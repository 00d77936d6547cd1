"""Size of what each Lambda function ships, as `make synth` builds it (infra/bundling.py: pip, no Docker): every
layer unpacked (what counts against Lambda's 250 MB limit, with the function's code) and zipped (the uploaded
asset), then each function's layers added up, in the default configuration and with a model provider and an
OpenSearch index (the anthropic and opensearch layers are given only then).

Usage: python benchmarks/layer_size.py [--json FILE]
Needs the package index (pip downloads the arm64 wheels; kept between runs, see bundling.staged). Prints what
dominates each layer and each function, what is installed but shipped in no layer, and what the AWS SDK the runtime
already provides (left out of the layers) would add.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for infra/
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))  # concierge, which infra/ imports

from concierge.platform.topology import FunctionName
from infra.bundling import (
    FUNCTION_LAYERS,
    LAYERS,
    RUNTIME_PROVIDED_DISTRIBUTIONS,
    FunctionsBundling,
    LayerBundling,
    installed,
    partition,
    pip_install,
    staged,
)

MB = 1_000_000
CONFIGURATIONS = {
    "default": {"model": False, "opensearch": False},
    "model + OpenSearch": {"model": True, "opensearch": True},
}


def unpacked(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def zipped(path: Path) -> int:
    with tempfile.TemporaryFile() as out:
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                archive.write(file, file.relative_to(path.parent))
        return out.tell()


def parts(path: Path) -> dict[str, int]:
    """The size of each top-level entry (package, data folder, module) of a layer's `python/` folder."""
    return {
        entry.name: unpacked(entry) if entry.is_dir() else entry.stat().st_size
        for entry in path.iterdir()
        if not entry.name.endswith(".dist-info")
    }


@dataclass
class Built:
    unpacked: int
    zipped: int
    parts: dict[str, int]

    def biggest(self, count: int = 4) -> list[tuple[str, int]]:
        return sorted(self.parts.items(), key=lambda kv: kv[1], reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this file (with a `summary` for make bench)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="layers-"))
    try:
        site = staged()
        layers: dict[str, Built] = {}
        print("layer                unpacked     zipped   biggest (MB)")
        for layer in LAYERS:
            target = work / layer.name
            LayerBundling(layer).try_bundle(str(target))
            built = layers[layer.name] = Built(unpacked(target), zipped(target / "python"), parts(target / "python"))
            print(
                f"{layer.name:<18} {built.unpacked / MB:8.1f} MB {built.zipped / MB:7.1f} MB   "
                + ", ".join(f"{n} {s / MB:.1f}" for n, s in built.biggest())
            )
        FunctionsBundling().try_bundle(str(work / "functions-code"))
        code = unpacked(work / "functions-code")
        print(f"{'functions package':<18} {code / MB:8.2f} MB (the five handlers, one asset)")

        summary: list[list[str]] = []
        functions: dict[str, dict[str, object]] = {}
        for configuration, given in CONFIGURATIONS.items():
            print(f"\nper function, {configuration} (layers added up, with the functions package):")
            for function in FunctionName:
                chosen = FUNCTION_LAYERS[function].layers(**given)
                size = code + sum(layers[layer.name].unpacked for layer in chosen)
                packed = sum(layers[layer.name].zipped for layer in chosen)
                merged = Built(size, packed, {})
                for layer in chosen:
                    merged.parts |= layers[layer.name].parts
                dominant = merged.biggest(3)
                names = "+".join(layer.name for layer in chosen)
                print(
                    f"  {function.value:<10} {size / MB:6.1f} MB unpacked {packed / MB:6.1f} MB zipped  [{names}]  "
                    + ", ".join(f"{n} {s / MB:.1f}" for n, s in dominant)
                )
                functions.setdefault(function.value, {})[configuration] = {
                    "layers": [layer.name for layer in chosen],
                    "unpacked_mb": round(size / MB, 1),
                    "zipped_mb": round(packed / MB, 1),
                    "dominant": {n: round(s / MB, 1) for n, s in dominant},
                }
                summary.append(
                    [
                        f"{function.value} ({configuration}), unpacked / zipped (MB)",
                        f"{size / MB:.1f} / {packed / MB:.1f}, mostly {', '.join(n for n, _ in dominant[:2])}",
                    ]
                )
        total, total_zipped = sum(b.unpacked for b in layers.values()), sum(b.zipped for b in layers.values())
        print(f"\nall layers (uploaded once each): {total / MB:.1f} MB unpacked, {total_zipped / MB:.1f} MB zipped")
        summary.append(["all layers, unpacked / zipped (MB)", f"{total / MB:.1f} / {total_zipped / MB:.1f}"])
        distributions = installed(site)
        shipped = set().union(*partition(distributions).values())
        left = sorted(set(distributions) - shipped)
        print(f"installed by pip, shipped in no layer: {', '.join(left)}")
        if args.json:
            figures = {
                "summary": summary,
                "layers": {
                    name: {
                        "unpacked_mb": round(built.unpacked / MB, 1),
                        "zipped_mb": round(built.zipped / MB, 1),
                        "biggest": {n: round(s / MB, 1) for n, s in built.biggest()},
                    }
                    for name, built in layers.items()
                },
                "functions": functions,
                "functions_package_mb": round(code / MB, 2),
                "not_shipped": left,
            }
            Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        sdk = work / "sdk"
        # the distributions left out, for comparison
        subprocess.run(pip_install(sdk, "--no-deps", *RUNTIME_PROVIDED_DISTRIBUTIONS), check=False)
        if sdk.exists():
            print(f"the AWS SDK left out ({', '.join(RUNTIME_PROVIDED_DISTRIBUTIONS)}): {unpacked(sdk) / MB:.1f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
