#!/usr/bin/env python3
"""Run tinyml's MicroPython tests on stock firmware with the native module.

The firmwares here are built without our user module and freeze nothing of
ours (make stock-unix stock-qemu_m3); `_tinyml` comes from
build/natmod/<arch>/_tinyml.mpy and `tinyml` from the .mpy package next to
it, exactly what `mip` installs. The scripts are the ones scripts/mpytest.py
runs on our firmwares (tests/mpy/*.py, build/mpytest/generated/*.py) plus
tests/natmod/*.py, which checks that the module really came from the .mpy.

- unix (x64): MICROPYPATH points at build/natmod/x64.
- qemu_m3 (armv7m), qemu_m0 (armv6m), qemu_rv32 (rv32imc): the qemu port has no writable
  filesystem, so the module folder is packed into a ROMFS image that QEMU's
  loader device puts in board memory past the model blobs; each script is
  prefixed with one line mounting it with vfs.VfsRom (enabled in the stock
  qemu port) on /natmod. Every test stays a fresh boot, with no upload over
  the serial line and no firmware change beyond what a board with a ROMFS
  partition has anyway.

Before running, the module's names are compared with the built-in module's
(build/unix/micropython): the native module fills its tables by hand, so a
name added to modtinyml.c's ROM tables and not to tinyml_natmod.c fails here.

    scripts/natmod_test.py [--micropython-dir DIR] TARGET [TARGET ...]
"""

import argparse
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
GENERATED = BUILD / "mpytest" / "generated"

sys.path.insert(0, str(ROOT / "converter"))
from tinyml_converter.boards import BOARDS, qemu_command  # noqa: E402

TARGETS = {"unix": "x64", "qemu_m3": "armv7m", "qemu_m0": "armv6m", "qemu_rv32": "rv32imc"}
MOUNT = "/natmod"
DRIFT_CHECK = (
    "import _tinyml\n"
    "print(sorted(n for n in dir(_tinyml) if not n.startswith('__')))\n"
    "print(sorted(n for n in dir(_tinyml.Model) if not n.startswith('__')))\n"
)


def collect_tests():
    tests = sorted((ROOT / "tests" / "natmod").glob("*.py"))
    tests += sorted((ROOT / "tests" / "mpy").glob("*.py"))
    if GENERATED.is_dir():
        tests += sorted(GENERATED.glob("*.py"))
    else:
        print(f"note: {GENERATED} missing (scripts/gen_mpy_tests.py makes it): no model parity scripts")
    return tests


def check_package(natmod):
    """package.json must name exactly the files mip would fetch."""
    pkg = natmod / "package.json"
    if not pkg.is_file():
        sys.exit(f"error: {pkg} missing: run make natmod ARCH={natmod.name}")
    urls = json.loads(pkg.read_text())["urls"]
    missing = [url for _, url in urls if not (natmod / url).is_file()]
    names = {dest for dest, _ in urls}
    if missing or "_tinyml.mpy" not in names or "tinyml/__init__.mpy" not in names:
        sys.exit(f"error: {pkg} lists missing files {missing} or lacks _tinyml.mpy / tinyml/__init__.mpy")
    return [dest for dest, _ in urls]


def drift_check(natmod):
    builtin = BUILD / "unix" / "micropython"
    stock = BUILD / "stock_unix" / "micropython"
    if not builtin.exists():
        print(f"note: {builtin} not built: names of the two builds not compared")
        return True
    out = []
    for exe, path in ((builtin, ""), (stock, str(natmod))):
        env = dict(os.environ, MICROPYPATH=path)
        proc = subprocess.run([str(exe), "-c", DRIFT_CHECK], env=env, capture_output=True, text=True)
        out.append(proc.stdout + proc.stderr)
    if out[0] != out[1]:
        print("FAIL names: the native module and the built-in _tinyml differ (update usermod_c/natmod/tinyml_natmod.c)")
        print(f"  built-in: {out[0]!r}\n  native:   {out[1]!r}")
        return False
    print("pass names: native _tinyml has the built-in module's names")
    return True


def load_romfs_writer(micropython_dir):
    # MicroPython's own ROMFS writer (tools/mpremote), loaded by path so the
    # rest of mpremote is not needed.
    path = Path(micropython_dir) / "tools" / "mpremote" / "mpremote" / "romfs.py"
    spec = importlib.util.spec_from_file_location("tinyml_romfs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.VfsRomWriter


def build_romfs(micropython_dir, natmod, files, out):
    writer = load_romfs_writer(micropython_dir)()
    tree = {}
    for name in files:
        node = tree
        *dirs, leaf = name.split("/")
        for d in dirs:
            node = node.setdefault(d, {})
        node[leaf] = (natmod / name).read_bytes()

    def add(node):
        for key in sorted(node):
            if isinstance(node[key], dict):
                writer.opendir(key)
                add(node[key])
                writer.closedir()
            else:
                writer.mkfile(key, node[key])

    add(tree)
    out.write_bytes(writer.finalise())
    return out.stat().st_size


def stage_qemu(tests, romfs_addr, romfs_size, stage):
    """Copies of the scripts with one mount line in front (so line numbers
    shift by one; no expected output depends on them)."""
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    prologue = (
        f"import vfs, sys, uctypes; vfs.mount(vfs.VfsRom(uctypes.bytearray_at({romfs_addr:#x}, {romfs_size})), "
        f"{MOUNT!r}); sys.path.insert(0, {MOUNT!r})\n"
    )
    staged = []
    for test in tests:
        dst = stage / test.name
        dst.write_text(prologue + test.read_text())
        exp = test.with_name(test.name + ".exp")
        if exp.exists():
            shutil.copyfile(exp, stage / exp.name)
        staged.append(dst)
    return staged


# Model tests a board's native-module run leaves out: qemu_m0's 512 KiB
# preload window holds the other blobs and the ROMFS image, not these (the
# last of tests/models.py, so the image goes where they would start). The
# firmware suites run them on every board, and the native-module run on
# qemu_m3 too.
NATMOD_SKIP = {"qemu_m0": {"tiled_16x8", "wide_windows", "conv_sweep", "dense_w16", "dense_w16_long",
                           "conv_rows", "dense_pairs"}}


def romfs_address(board, blobs, size):
    b = BOARDS[board]
    end = b.preload_base
    for blob in blobs.get(board, []):
        end = max(end, blob["addr"] + Path(blob["path"]).stat().st_size)
    # One flash sector of alignment is all VfsRom needs; 64 KiB cost qemu_m0
    # the room its 512 KiB preload window has left after the test blobs.
    addr = (end + 0xFFF) & ~0xFFF
    if addr + size > b.preload_limit:
        sys.exit(f"error: no room for the {size} byte ROMFS image past the model blobs on {board}: "
                 f"they end at {end:#x}, the preload window at {b.preload_limit:#x}")
    return addr


def run_tests(target, micropython_dir, tests, env, extra_args):
    result_dir = BUILD / "natmod_test" / "results" / target
    if result_dir.exists():
        shutil.rmtree(result_dir)
    result_dir.mkdir(parents=True)
    cmd = [sys.executable, "run-tests.py", "-j", "1", "-r", str(result_dir), *extra_args]
    cmd += [str(t) for t in tests]
    print(f"== {target} (stock firmware + native module): {len(tests)} scripts", flush=True)
    proc = subprocess.run(cmd, cwd=Path(micropython_dir) / "tests", env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    passed, failed, skipped = [], [], []
    for line in proc.stdout.splitlines():
        m = re.match(r"^(pass|FAIL|skip)\s+(\S+)", line)
        if m:
            print(f"  {target}: {line}")
            {"pass": passed, "FAIL": failed, "skip": skipped}[m.group(1)].append(m.group(2))
    unaccounted = len(tests) - len(passed) - len(failed) - len(skipped)
    if unaccounted:
        # run-tests.py stops at a board that died (a fault resets or exits
        # qemu): the scripts after it never ran.
        print(proc.stdout[-3000:])
        failed.append(f"<{target}: {unaccounted} of {len(tests)} scripts never ran; "
                      f"run-tests.py stopped (exit {proc.returncode})>")
    for name in failed:
        mangled = name.replace("/", "_")
        out, exp = result_dir / f"{mangled}.out", result_dir / f"{mangled}.exp"
        if out.exists():
            print(f"---- {target} {Path(name).name}: expected")
            print(exp.read_text()[:2000] if exp.exists() else "(no .exp)")
            print(f"---- {target} {Path(name).name}: got")
            print(out.read_text()[:2000])
    return passed, failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("targets", nargs="+", choices=sorted(TARGETS))
    ap.add_argument("--micropython-dir", default=str(BUILD / "micropython"))
    args = ap.parse_args()

    tests = collect_tests()
    blobs_file = GENERATED / "blobs.json"
    blobs = json.loads(blobs_file.read_text()) if blobs_file.exists() else {}
    ok = True
    total_pass = total_fail = 0
    for target in args.targets:
        natmod = BUILD / "natmod" / TARGETS[target]
        files = check_package(natmod)
        env = dict(os.environ)
        if target == "unix":
            ok = drift_check(natmod) and ok
            env["MICROPY_MICROPYTHON"] = str(BUILD / "stock_unix" / "micropython")
            env["MICROPYPATH"] = str(natmod)
            passed, failed = run_tests(target, args.micropython_dir, tests, env, ["--keep-path"])
        else:
            stage = BUILD / "natmod_test" / target
            stage.mkdir(parents=True, exist_ok=True)
            image = stage.parent / f"{target}.romfs"
            size = build_romfs(args.micropython_dir, natmod, files, image)
            skip = NATMOD_SKIP.get(target, set())
            if skip:
                print(f"== {target}: leaves out {', '.join(sorted(skip))} (no room beside the ROMFS image)")
            kept = [b for b in blobs.get(target, []) if Path(b["path"]).stem not in skip]
            addr = romfs_address(target, {target: kept}, size)
            staged = stage_qemu([t for t in tests if t.stem not in skip], addr, size, stage)
            preloads = [(b["path"], b["addr"]) for b in kept] + [(str(image), addr)]
            cmd = qemu_command(target, BUILD / f"stock_{target}" / "firmware.elf", preloads)
            execpty = shlex.join(cmd[:-2] + ["-serial", "pty"] + cmd[-2:])
            passed, failed = run_tests(target, args.micropython_dir, staged, env, ["-t", "execpty:" + execpty])
        total_pass += len(passed)
        total_fail += len(failed)
    print(f"natmod_test: {total_pass} passed, {total_fail} failed")
    return 0 if ok and not total_fail and total_pass else 1


if __name__ == "__main__":
    sys.exit(main())
