"""Size of the Lambda layer `make synth` ships: built as infra/bundling.py builds it (pip, no Docker), then measured
unpacked (what counts against Lambda's 250 MB limit, with the functions) and zipped (the uploaded asset).

Usage: python benchmarks/layer_size.py
Needs the package index (pip downloads the arm64 wheels). Prints the biggest directories too, and what the AWS SDK the
runtime already provides (left out of the layer) would add.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for infra/

from infra.bundling import RUNTIME_PROVIDED_DISTRIBUTIONS, LayerBundling, pip_install

MB = 1_000_000


def unpacked(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def zipped(path: Path) -> int:
    with tempfile.TemporaryFile() as out:
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                archive.write(file, file.relative_to(path.parent))
        return out.tell()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this file (with a `summary` for make bench)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="layer-"))
    try:
        LayerBundling().try_bundle(str(work))
        python = work / "python"
        size, packed = unpacked(python), zipped(python)
        print(f"layer: {size / MB:.1f} MB unpacked, {packed / MB:.1f} MB zipped")
        biggest = sorted(((unpacked(d), d.name) for d in python.iterdir() if d.is_dir()), reverse=True)[:8]
        for part, name in biggest:
            print(f"  {name:<28} {part / MB:6.1f} MB")
        if args.json:
            figures = {
                "summary": [["Lambda layer, unpacked / zipped (MB)", f"{size / MB:.1f} / {packed / MB:.1f}"]],
                "biggest": {name: round(part / MB, 1) for part, name in biggest},
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
