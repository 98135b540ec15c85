"""The C header that builds a firmware with only some ops (TML_OPS_SUBSET,
usermod_c/tml_ops.c): TML_WITH_<op> 1 for the ops kept, 0 for the rest.

`tinyml inspect MODEL --ops-header FILE` writes it for one model; run it
again with the same FILE for another model and the ops add up."""

from __future__ import annotations

import os
import re
from pathlib import Path

from . import blob_layout as L
from .errors import UsageError

_MARK = "/* tinyml ops header: "
_LINE = re.compile(r"^#define TML_WITH_(\w+) ([01])$", re.M)


def ops_in_header(text: str) -> set:
    return {name for name, on in _LINE.findall(text) if on == "1"}


def header(ops: set) -> str:
    unknown = sorted(set(ops) - set(L.OPCODES))
    if unknown:
        raise UsageError(f"not tinyml ops: {', '.join(unknown)}")
    lines = [_MARK + "build with -DTML_OPS_SUBSET='\"<this file>\"' (micropython.mk:",
             " * TINYML_OPS_HEADER=<this file>). Written by `tinyml inspect --ops-header`. */",
             "#ifndef TML_OPS_SUBSET_H", "#define TML_OPS_SUBSET_H"]
    for name in sorted(L.OPCODES, key=L.OPCODES.get):
        lines.append(f"#define TML_WITH_{name} {1 if name in ops else 0}")
    lines.append("#endif")
    return "\n".join(lines) + "\n"


def write(path, ops: set) -> set:
    """Writes the header for `ops` plus those an earlier header at `path`
    kept; returns the ops kept."""
    path = Path(path)
    kept = set(ops)
    if path.exists():
        text = path.read_text()
        if not text.startswith(_MARK):
            raise UsageError(f"{path} exists and is not a tinyml ops header; not overwriting it")
        kept |= ops_in_header(text)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(header(kept))
    os.replace(tmp, path)
    return kept


def main(argv=None) -> int:
    """`python -m tinyml_converter.ops_header --sources HEADER C_DIR`: the
    C files a native module built with HEADER links (usermod_c/natmod/Makefile)."""
    import sys

    from .coverage import sources_for

    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 3 or argv[0] != "--sources":
        print("usage: python -m tinyml_converter.ops_header --sources HEADER C_DIR", file=sys.stderr)
        return 2
    text = Path(argv[1]).read_text()
    if not text.startswith(_MARK):
        print(f"{argv[1]} is not a tinyml ops header (tinyml inspect --ops-header writes one)", file=sys.stderr)
        return 2
    print(" ".join(sources_for(argv[2], ops_in_header(text))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
