#!/usr/bin/env python3
"""Put the tinyml package next to a native _tinyml.mpy, ready for mip.

Compiles python_lib/tinyml/*.py with the given mpy-cross (the one matching
the firmware: bytecode versions must agree) into OUT/tinyml/, and writes
OUT/package.json listing every file with a URL relative to package.json, so
both of these install it:

    mpremote mip install build/natmod/armv6m/package.json
    mip.install("https://<where you host it>/armv6m/package.json")   # on the board

    scripts/natmod_package.py --arch ARCH --mpy-cross PATH OUT
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "python_lib" / "tinyml"


def package_version():
    text = (PACKAGE / "__init__.py").read_text()
    m = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not m:
        sys.exit(f"error: no __version__ = \"...\" line in {PACKAGE / '__init__.py'}")
    return m.group(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", required=True, help="mpy-cross -march value, e.g. armv6m")
    ap.add_argument("--mpy-cross", required=True, help="mpy-cross matching the firmware")
    ap.add_argument("out", type=Path, help="folder holding _tinyml.mpy")
    args = ap.parse_args()

    native = args.out / "_tinyml.mpy"
    if not native.is_file():
        sys.exit(f"error: {native} is missing: build the native module first (make natmod ARCH={args.arch})")
    files = [native.name]
    for src in sorted(PACKAGE.rglob("*.py")):
        rel = src.relative_to(PACKAGE.parent).with_suffix(".mpy")
        dst = args.out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([args.mpy_cross, f"-march={args.arch}", "-o", str(dst), str(src)], check=True)
        files.append(rel.as_posix())
    package = {
        "urls": [[name, name] for name in files],
        "version": package_version(),
    }
    (args.out / "package.json").write_text(json.dumps(package, indent=1) + "\n")
    for name in files:
        print(f"{args.out / name}: {(args.out / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
