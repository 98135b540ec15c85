#!/usr/bin/env python3
"""Collect the release artifacts into one folder (`make dist`).

    dist/
      tinyml_converter-<version>-cp39-abi3-<platform>.whl
      <board>/<firmware>      one per board built here, as build/ has them
      natmod/<arch>/          _tinyml.mpy, tinyml/*.mpy and package.json (mip)
      SHA256SUMS              `sha256sum -c SHA256SUMS` checks every file

The layout per board is the one the CLI looks for (artifacts.py), so
TINYML_FIRMWARE_DIR=dist makes `tinyml run --target <board>` use these
images. The folder is written beside and renamed into place: an
interrupted run never leaves a half-filled dist/.

    scripts/make_dist.py --build build --out dist --boards unix qemu_m3 ... --natmod x64 ...
"""

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "converter"))
from tinyml_converter.artifacts import FIRMWARE_FILES  # noqa: E402


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--boards", nargs="+", required=True)
    ap.add_argument("--natmod", nargs="*", default=[])
    args = ap.parse_args()

    staging = args.out.with_name(args.out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps",
                    "-w", str(staging), str(ROOT / "converter")], check=True)
    for board in args.boards:
        src = args.build / board / FIRMWARE_FILES[board]
        if not src.is_file():
            sys.exit(f"make_dist: {src} is missing (make firmware BOARD={board})")
        (staging / board).mkdir()
        shutil.copy2(src, staging / board / src.name)
    for arch in args.natmod:
        src = args.build / "natmod" / arch
        if not (src / "package.json").is_file():
            sys.exit(f"make_dist: {src}/package.json is missing (make natmod ARCH={arch})")
        dest = staging / "natmod" / arch
        listed = [local for local, _ in json.loads((src / "package.json").read_text())["urls"]]
        for name in ["package.json", *listed]:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / name, dest / name)
    files = sorted(p for p in staging.rglob("*") if p.is_file())
    sums = "".join(f"{sha256(p)}  {p.relative_to(staging).as_posix()}\n" for p in files)
    (staging / "SHA256SUMS").write_text(sums)
    shutil.rmtree(args.out, ignore_errors=True)
    staging.rename(args.out)
    print(f"dist: {len(files)} files in {args.out} (SHA256SUMS lists them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
