#!/usr/bin/env python3
"""C stack one Model.invoke() takes on the qemu boards, per benchmark model.

    .venv/bin/python bench/stack.py [--models a,b] [--targets qemu_m0,qemu_m3,qemu_m4]

How it is measured: our qemu firmwares carry the stackprobe module
(ports/qemu/qemu_stackprobe.c), which paints the free C stack and later
finds the deepest word overwritten. One boot per model and board, with the
blob and input preloaded as for the timed benchmark (bench.run_preloaded):
load the model, one warm-up invoke, gc.collect() (so no collection falls
inside the measured call), then

    stackprobe.paint(); m.invoke(x, out); stackprobe.used()

gives the bytes of C stack that invoke wrote below the calling frame: the
binding, the executor and the kernels, plus MicroPython's call dispatch
(m.invoke is a bound method kept on the Python-side Model, as every user
calls it; the probe's header comment says why the reference point is fair).
Words written, not words reserved: a stack buffer counts only as far as it
is filled. -fstack-usage (on in our qemu boards' builds) gives the reserved
frame sizes; the largest of our module's are listed next to the table.

Each boot first checks the probe: paint() then used() with nothing between
reports at most TRIVIAL_MAX bytes, and a Python recursion (each level a C
recursion through the VM) of DEPTHS levels grows by the same number of bytes
per level, at least the static frames of the VM's two C functions in the
cycle from the same build's -fstack-usage (mp_execute_bytecode, fun_bc_call;
fun_bc_call's code state comes on top, by alloca). The exit status is
non-zero if a check or a run fails.

Writes build/bench/stack.json.
"""

import argparse
import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "converter"), str(ROOT / "bench")]

from bench import OUT_DIR, bench_input, convert_model, log, run_preloaded  # noqa: E402

# The boards with the stackprobe module (ports/qemu/qemu_stackprobe.c, which
# knows the Arm linker scripts' memory layout).
QEMU_TARGETS = ("qemu_m0", "qemu_m3", "qemu_m4")

# Within MicroPython's 10 KB recursion limit (ports/qemu/main.c) on every
# board: a level takes 200-250 B.
DEPTHS = (5, 10, 20)
TRIVIAL_MAX = 256
VM_CYCLE = ("mp_execute_bytecode", "fun_bc_call")


def _script(load, xin, out_size):
    # paint(), the measured call and used() sit in the same (module) frame;
    # an error is printed rather than raised, so the board still resets and
    # QEMU exits.
    body = [
        "stackprobe.paint()",
        "t = stackprobe.used()",
        "r = []",
        f"for n in {DEPTHS!r}:",
        "    stackprobe.paint()",
        "    rec(n)",
        "    r.append(stackprobe.used())",
        f"m = tinyml.load({load})",
        f"x = {xin}",
        f"o = bytearray({out_size})",
        "m.invoke(x, o)",
        "gc.collect()",
        "stackprobe.paint()",
        "m.invoke(x, o)",
        "s = stackprobe.used()",
        "print('STACK', t, ' '.join(str(v) for v in r), s)",
    ]
    return "\n".join([
        "import gc, machine, stackprobe, uctypes, tinyml",
        "def rec(n):",
        "    return rec(n - 1) if n else 0",
        "try:",
        *("    " + line for line in body),
        "except Exception as e:",
        "    print('STACK-ERROR', repr(e))",
        "machine.reset()",
        "",
    ])


def frame_sizes(board, under):
    """{function: bytes} from the -fstack-usage files of the board's firmware
    build, for the objects under obj/<under> (py: MicroPython's core,
    usermod_c: ours)."""
    frames = {}
    for su in (ROOT / "build" / board / "obj" / under).rglob("*.su"):
        for line in su.read_text().splitlines():
            where, size, _ = line.rsplit("\t", 2)
            frames[where.rsplit(":", 1)[1]] = int(size)
    return frames


def check_probe(trivial, depths, vm_frames):
    """(problems with the probe's readings, empty if it is sane; bytes per
    recursion level; the static frames of one level)."""
    problems = []
    if trivial > TRIVIAL_MAX:
        problems.append(f"paint(); used() reports {trivial} B, more than {TRIVIAL_MAX}")
    steps = {(depths[i + 1] - depths[i]) / (DEPTHS[i + 1] - DEPTHS[i]) for i in range(len(DEPTHS) - 1)}
    cycle = [vm_frames.get(f) for f in VM_CYCLE]
    if None in cycle:
        problems.append(f"no -fstack-usage figures for {', '.join(VM_CYCLE)} (rebuild the firmware)")
        return problems, min(steps), None
    if len(steps) != 1 or min(steps) < sum(cycle):
        problems.append(f"recursion of {DEPTHS} levels: {depths} B, not a constant step of at least "
                        f"{sum(cycle)} B per level")
    return problems, min(steps), sum(cycle)


def fmt_cell(rec):
    return str(rec["invoke_stack_bytes"]) if "invoke_stack_bytes" in rec else "n/a"


def measure(name, blob, x, out_size, board):
    rec = dict(model=name, target=board)
    fw = ROOT / "build" / board / "firmware.elf"
    if not fw.exists():
        rec["error"] = f"{fw} missing (make firmware BOARD={board})"
        return rec
    out = run_preloaded(board, fw, blob, x, lambda load, xin: _script(load, xin, out_size))
    found = re.search(r"STACK (\d+) ([\d ]+) (\d+)", out)
    failed = re.search(r"STACK-ERROR (.*)", out)
    if failed and "MemoryError" in failed.group(1):
        rec["error"] = "does not fit: MemoryError (arena larger than the heap)"
    elif not found:
        rec["error"] = f"no probe output: {failed.group(1).strip() if failed else out[-200:]!r}"
    else:
        rec.update(invoke_stack_bytes=int(found.group(3)), probe_trivial_bytes=int(found.group(1)),
                   probe_recursion_bytes=[int(v) for v in found.group(2).split()])
    log(f"[stack] {name} on {board}: " + ", ".join(f"{k}={v}" for k, v in rec.items()
                                                   if k not in ("model", "target")))
    return rec


def main(argv=None):
    import models
    from tinyml_converter.host_runtime import HostModel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(models.MODELS), help="comma-separated names")
    ap.add_argument("--targets", default=",".join(QEMU_TARGETS),
                    help="comma-separated boards (those not qemu boards are skipped)")
    ap.add_argument("--json", default=str(OUT_DIR / "stack.json"))
    a = ap.parse_args(argv)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    boards = [t for t in a.targets.split(",") if t in QEMU_TARGETS]
    names = [n for n in a.models.split(",") if n]
    unknown = [n for n in names if n not in models.MODELS]
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(models.MODELS)}")

    jobs = []
    for n in names:
        _, blob, _ = convert_model(n, models.MODELS[n])
        host = HostModel(blob)
        x = bench_input(host.input_shapes[0])
        jobs += [(n, blob, x, int(np.prod(host.output_shapes[0])), b) for b in boards]
    with ThreadPoolExecutor(max_workers=2) as pool:
        records = list(pool.map(lambda j: measure(*j), jobs))

    by = {(r["model"], r["target"]): r for r in records}
    # A model larger than a board's heap is a fact about the board, not a failure.
    failed = [r for r in records if "error" in r and not r["error"].startswith("does not fit")]
    probe, frames_top = {}, {}
    for b in boards:
        ours = sorted(((s, f) for f, s in frame_sizes(b, "usermod_c").items()), reverse=True)
        frames_top[b] = [dict(function=f, bytes=s) for s, f in ours[:3]]
        readings = {(r["probe_trivial_bytes"], tuple(r["probe_recursion_bytes"]))
                    for r in records if r["target"] == b and "probe_trivial_bytes" in r}
        if not readings:
            continue
        trivial, depths = min(readings)
        problems, step, static = check_probe(trivial, depths, frame_sizes(b, "py"))
        if len(readings) > 1:
            problems.append(f"probe readings differ between boots: {sorted(readings)}")
        probe[b] = dict(trivial_bytes=trivial, recursion_depths=list(DEPTHS),
                        recursion_bytes=list(depths), bytes_per_level=step,
                        static_bytes_per_level=static, problems=problems)

    Path(a.json).write_text(json.dumps(dict(invoke=records, probe=probe, largest_frames=frames_top),
                                       indent=1))
    print("C stack of one invoke, bytes (stackprobe; bench/stack.py says how)")
    print(f"{'model':15}" + "".join(f" {b:>8}" for b in boards))
    for n in names:
        print(f"{n:15}" + "".join(f" {fmt_cell(by[(n, b)]):>8}" for b in boards))
    for r in (r for r in records if "error" in r):
        print(f"  note: {r['model']} on {r['target']}: {r['error']}")
    for b, p in probe.items():
        verdict = "ok" if not p["problems"] else "FAILED: " + "; ".join(p["problems"])
        print(f"probe on {b}: paint(); used() {p['trivial_bytes']} B; recursion {p['recursion_bytes']} B "
              f"at {DEPTHS} levels, {p['bytes_per_level']:g} B/level (static frames "
              f"{p['static_bytes_per_level']} B): {verdict}")
    for b, top in frames_top.items():
        print(f"largest frames in our module on {b} (-fstack-usage): "
              + ", ".join(f"{t['function']} {t['bytes']}" for t in top))
    print(f"(records: {a.json})")
    return 1 if failed or any(p["problems"] for p in probe.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
