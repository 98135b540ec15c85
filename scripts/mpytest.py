#!/usr/bin/env python3
"""Run tinyml's MicroPython test scripts on one or more firmwares.

The same scripts run everywhere: tests/mpy/*.py (hand-written, with .exp
files or self-checking) and build/mpytest/generated/*.py (model parity tests
whose .exp files hold TFLite's output bytes, written by gen_mpy_tests.py).
MicroPython's own tests/run-tests.py is the engine: it runs each script on
the unix binary directly, or on a qemu board over a pty, and diffs the
output against the .exp file.

Model blobs reach the qemu boards without a filesystem: QEMU's generic
loader device places each blob in board memory at the address listed in
build/mpytest/generated/blobs.json, where the script finds it with
uctypes.bytearray_at() and uses it in place.

    scripts/mpytest.py [--micropython-dir DIR] [--dir TESTS] BOARD [BOARD ...]

--dir runs the scripts of one folder instead (with its own blobs.json), e.g.
the stress tests scripts/gen_mpy_stress.py writes into build/mpytest/stress.
"""

import argparse
import contextlib
import json
import os
import re
import selectors
import shlex
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
GENERATED = BUILD / "mpytest" / "generated"

sys.path.insert(0, str(ROOT / "converter"))
from tinyml_converter.boards import BOARDS, qemu_command as board_qemu_command  # noqa: E402

QEMU = [name for name, b in BOARDS.items() if b.qemu_args]
# Seconds without a line from run-tests.py before a board's run is called
# hung: far above any script of `make test` on the slowest board.
SILENCE_LIMIT = 300


def qemu_command(board, blobs):
    elf = BUILD / board / "firmware.elf"
    preloads = [(blob["path"], blob["addr"]) for blob in blobs.get(board, [])]
    cmd = board_qemu_command(board, elf, preloads)
    return shlex.join(cmd[:-2] + ["-serial", "pty"] + cmd[-2:])


def collect_tests():
    tests = sorted((ROOT / "tests" / "mpy").glob("*.py"))
    if GENERATED.is_dir():
        tests += sorted(GENERATED.glob("*.py"))
    return tests


def descendants(pid):
    """Every process below pid (Linux /proc): run-tests.py starts the
    emulator in a session of its own, out of reach of a group kill."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def run_board(board, micropython_dir, tests, blobs, results="results"):
    result_dir = BUILD / "mpytest" / results / board
    result_dir.mkdir(parents=True, exist_ok=True)
    for stale in result_dir.glob("*"):
        stale.unlink()
    env = dict(os.environ)
    # One job: parallel runs interleave the per-test lines this script reads.
    cmd = [sys.executable, "run-tests.py", "-j", "1", "-r", str(result_dir)]
    if board == "unix":
        env["MICROPY_MICROPYTHON"] = str(BUILD / "unix" / "micropython")
    else:
        cmd += ["-t", "execpty:" + qemu_command(board, blobs)]
    cmd += [str(t) for t in tests]
    print(f"== {board}: {len(tests)} scripts", flush=True)
    env["PYTHONUNBUFFERED"] = "1"  # a line per test as it ends, for the silence watch below
    proc = subprocess.Popen(cmd, cwd=Path(micropython_dir) / "tests", env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    passed, failed, skipped = [], [], []
    lines = []
    watch = selectors.DefaultSelector()
    watch.register(proc.stdout, selectors.EVENT_READ)
    while True:
        if not watch.select(timeout=SILENCE_LIMIT):
            # A firmware stuck in a loop answers nothing, not even Ctrl-C, and
            # run-tests.py would wait for it for ever.
            for pid in [proc.pid, *descendants(proc.pid)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            done = set(passed + failed + skipped)
            hung = next((str(t) for t in tests if str(t) not in done), "?")
            failed.append(f"<{board}: no word for {SILENCE_LIMIT} s, the firmware hung in {hung}; "
                          f"the scripts after it did not run>")
            break
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.match(r"^(pass|FAIL|skip)\s+(\S+)", line)
        if m:
            {"pass": passed, "FAIL": failed, "skip": skipped}[m.group(1)].append(m.group(2))
            print(f"  {board}: {line.rstrip()}", flush=True)
    proc.wait()
    if not passed and not failed:
        print("".join(lines))
        failed.append(f"<{board}: run-tests.py ran nothing (exit {proc.returncode})>")
    for name in failed:
        base = Path(name).name
        # run-tests.py names results after the whole path, '/' turned into '_'.
        mangled = name.replace("/", "_")
        out, exp = result_dir / f"{mangled}.out", result_dir / f"{mangled}.exp"
        if out.exists():
            print(f"---- {board} {base}: expected")
            print(exp.read_text()[:2000] if exp.exists() else "(no .exp)")
            print(f"---- {board} {base}: got")
            print(out.read_text()[:2000])
    return passed, failed, skipped


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("boards", nargs="+", choices=["unix", *QEMU])
    ap.add_argument("--micropython-dir", default=str(BUILD / "micropython"))
    ap.add_argument("--dir", type=Path, help="run this folder's *.py instead of the default set")
    args = ap.parse_args()

    tests = sorted(args.dir.resolve().glob("*.py")) if args.dir else collect_tests()
    blobs_file = (args.dir if args.dir else GENERATED) / "blobs.json"
    results = f"results-{args.dir.name}" if args.dir else "results"
    blobs = json.loads(blobs_file.read_text()) if blobs_file.exists() else {}
    total_pass = total_fail = total_skip = 0
    failures = []
    for board in args.boards:
        passed, failed, skipped = run_board(board, args.micropython_dir, tests, blobs, results)
        total_pass += len(passed)
        total_fail += len(failed)
        total_skip += len(skipped)
        failures += [f"{board}: {f}" for f in failed]
    for f in failures:
        print(f"FAILED {f}")
    print(f"mpytest: {total_pass} passed, {total_fail} failed, {total_skip} skipped")
    return 1 if total_fail or not total_pass else 0


if __name__ == "__main__":
    sys.exit(main())
