#!/usr/bin/env python3
"""Run an example's board script (examples/<name>/main.py) on the unix
firmware or an emulated qemu board, the way `make test` does.

    examples/board_run.py EXAMPLE_DIR MODEL BOARD [BOARD ...]

On unix the script runs in a folder holding the model file, as on a real
board with a filesystem (what Thonny gives you). The qemu boards have no
filesystem: the model is preloaded into board memory by QEMU's loader and
the script finds it in FILES; helper modules of the example (imported with
`from <module> import ...`) are sent along inline. A run passes when the
script prints a line starting with "PASS".
"""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "converter"))
from tinyml_converter.boards import BOARDS, qemu_command  # noqa: E402


def _module(example: Path, name: str):
    """The example's helper module `name`.py: in its folder, or shared from a
    sibling example (gesture_stream uses gesture's gestures.py)."""
    for folder in (example, *sorted(p for p in example.parent.iterdir() if p.is_dir())):
        if (folder / f"{name}.py").exists():
            return folder / f"{name}.py"
    return None


def _inline_modules(example: Path, source: str) -> str:
    out = []
    for line in source.splitlines():
        m = re.match(r"from (\w+) import ", line)
        path = _module(example, m.group(1)) if m else None
        if path is not None:
            out.append(_inline_modules(example, path.read_text()))
        else:
            out.append(line)
    return "\n".join(out)


def run(example: Path, model: Path, board: str) -> str:
    main = example / "main.py"
    if board == "unix":
        with tempfile.TemporaryDirectory() as d:
            for f in example.glob("*.py"):
                shutil.copy(f, d)
            for name in re.findall(r"^from (\w+) import ", main.read_text(), re.M):
                path = _module(example, name)
                if path is not None and not (Path(d) / path.name).exists():
                    shutil.copy(path, d)
            shutil.copy(model, Path(d) / model.name)
            res = subprocess.run([str(ROOT / "build" / "unix" / "micropython"), "main.py"], cwd=d,
                                 capture_output=True, text=True, timeout=300)
            return res.stdout + res.stderr
    b = BOARDS[board]
    blob = model.read_bytes()
    script = (
        "import uctypes\n"
        f"FILES = {{{model.name!r}: memoryview(uctypes.bytearray_at({b.preload_base:#x}, {len(blob)}))}}\n"
        + _inline_modules(example, main.read_text())
        + "\nimport machine\nmachine.reset()\n"
    )
    cmd = qemu_command(board, ROOT / "build" / board / "firmware.elf", [(model, b.preload_base)])
    cmd = cmd[:-2] + ["-serial", "stdio"] + cmd[-2:]
    res = subprocess.run(cmd, input=b"\x01" + script.encode() + b"\x04", capture_output=True, timeout=600)
    return res.stdout.decode(errors="replace").replace("\x04", "\n")


def main(argv):
    example, model, boards = Path(argv[0]), Path(argv[1]), argv[2:]
    failed = []
    for board in boards:
        out = run(example, model, board)
        ok = any(line.startswith("PASS") for line in out.splitlines())
        summary = [ln for ln in out.splitlines() if ln.startswith(("PASS", "FAIL", "Traceback", "  ", "Error"))
                   or "Error" in ln]
        print(f"{example.name} on {board}: {'ok' if ok else 'FAILED'}")
        for ln in summary if not ok else [ln for ln in out.splitlines() if ln.startswith("PASS")]:
            print("   ", ln)
        if not ok:
            failed.append(board)
            print(out[-2000:])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
