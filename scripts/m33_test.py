#!/usr/bin/env python3
"""Run the model of every generated parity script (build/mpytest/generated,
scripts/gen_mpy_tests.py) through the Cortex-M33 harness (tests/m33/) on
qemu-system-arm -machine mps2-an505, and compare each output with the
script's .exp file, TFLite's reference-kernel bytes.

    scripts/m33_test.py build/m33/harness.elf [build/m33/harness_m4.elf ...]
"""

import re
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "build" / "mpytest" / "generated"
JOB_ADDR = 0x38200000
JOB_MAGIC = 0x33336D74


def model_scripts():
    """(name, blob size, inputs offset, input count, expected invoke() lines) of
    each generated model script. A 16x8 script's .exp ends with one line per
    input from predict(), which the harness does not run."""
    for script in sorted(GENERATED.glob("*.py")):
        text = script.read_text()
        load = re.search(r"m = tinyml\.load\(d\[:(\d+)\]\)", text)
        loop = re.search(r"for i in range\((\d+)\):\n    start = (\d+) \+ i \* \d+", text)
        if load and loop and (GENERATED / f"{script.stem}.bin").exists():
            count = int(loop.group(1))
            expected = (GENERATED / f"{script.stem}.py.exp").read_text().splitlines()[1:]
            # The unaligned-input check of an in-place input is the script's, not the harness's.
            expected = [e for e in expected if not e.startswith("ValueError:")]
            if "m.predict(" in text:
                expected = expected[:-count]
            yield script.stem, int(load.group(1)), int(loop.group(2)), count, expected


def run(harness, name, blob_size, inputs_offset, count):
    payload = (GENERATED / f"{name}.bin").read_bytes()
    job = struct.pack("<4I", JOB_MAGIC, blob_size, inputs_offset, count) + payload
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "job.bin"
        path.write_bytes(job)
        res = subprocess.run(
            ["qemu-system-arm", "-machine", "mps2-an505", "-nographic", "-monitor", "null",
             "-semihosting", "-device", f"loader,file={path},addr={JOB_ADDR:#x},force-raw=on",
             "-kernel", str(harness)],
            capture_output=True, text=True, timeout=600)
    # QEMU writes the semihosting console to stderr when no chardev is named.
    return res.returncode, res.stderr + res.stdout


def main():
    models = list(model_scripts())
    if not models:
        print(f"m33_test: no generated model scripts in {GENERATED} (run scripts/gen_mpy_tests.py)")
        return 1
    return max(test_harness(h, models) for h in sys.argv[1:])


def test_harness(harness, models):
    failed = 0
    arch = ""
    for name, blob_size, inputs_offset, count, expected in models:
        rc, out = run(harness, name, blob_size, inputs_offset, count)
        lines = out.splitlines()
        arch = lines[0] if lines else ""
        got = [line for line in lines[1:] if line]
        if rc != 0 or arch != "M33_ARCH armv7em-dsp" or got != expected:
            failed += 1
            why = (f"exit {rc}" if rc else arch if arch != "M33_ARCH armv7em-dsp"
                   else f"{sum(a != b for a, b in zip(got, expected))} of {len(expected)} outputs differ")
            print(f"  m33: FAIL {name} ({Path(harness).name}): {why}\n{out[:2000]}")
        else:
            print(f"  m33: pass {name} ({Path(harness).name}: {count} inputs, bytes equal to TFLite's)")
    print(f"m33_test: {Path(harness).name}: {len(models) - failed} passed, {failed} failed "
          f"({arch.split()[-1] if arch else '?'} kernels)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
