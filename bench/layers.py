"""Instructions per layer of one invoke on a qemu board, from QEMU's
execution trace (analysis, not a test).

    .venv/bin/python bench/layers.py kws_dscnn qemu_m4    (after make bench)

How it is measured: the firmware runs one Model.invoke() under
`qemu-system-arm -icount shift=0 -d exec,nochain,in_asm` (or
qemu-system-riscv32 for qemu_rv32): QEMU logs every
translated block once (its instructions) and every execution of one, so the
instructions executed at each address are exact. The invoke starts at the
entry of tml_model_invoke(); each op's share runs from the entry of its
kernel (tml_conv_s8() for CONV_2D, ...) to the next op's, so it includes
the executor's few instructions between them; the invoke ends at the first
block outside our module (and the C library and libgcc helpers it calls).
Ops without a kernel (COPY) show 0, their instructions in the op before.

Writes build/bench/layers_<model>_<board>.csv and, with matplotlib, a .png
bar chart next to it. With --functions, each op's instructions are also
split by the function they ran in (inlined code counts as its caller's).
"""

import bisect
import collections
import csv
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "converter"), str(ROOT / "bench")]
OUT_DIR = ROOT / "build" / "bench"

KERNELS = {
    "CONV_2D": "tml_conv_s8", "DEPTHWISE_CONV_2D": "tml_depthwise_conv_s8",
    "FULLY_CONNECTED": "tml_fully_connected_s8", "AVERAGE_POOL_2D": "tml_avg_pool_s8",
    "MAX_POOL_2D": "tml_max_pool_s8", "MEAN": "tml_mean_s8", "ADD": "tml_add_s8",
    "MUL": "tml_mul_s8", "CONCATENATION": "tml_concat_part_s8", "PAD": "tml_pad_s8",
    "SOFTMAX": "tml_softmax_s8", "LUT": "tml_lut_s8",
}
# Functions an invoke runs besides ours (tml_*): the C library's copies and
# libgcc's arithmetic helpers.
HELPERS = re.compile(r"^(tml_|mem(cpy|set|move)$|__)")


def _symbols(firmware, board):
    nm = "riscv64-unknown-elf-nm" if board == "qemu_rv32" else "arm-none-eabi-nm"
    out = subprocess.run([nm, "-nS", "--defined-only", str(firmware)],
                         capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4 and f[2] in "tTwW":
            syms.append((int(f[0], 16) & ~1, int(f[1], 16), f[3]))
    syms.sort()
    return syms


def _trace(board, firmware, blob, x, out_size):
    """[(block start address, instructions)] in execution order, one invoke."""
    from bench import run_preloaded

    with tempfile.TemporaryDirectory() as d:
        log = Path(d) / "trace.log"
        out = run_preloaded(board, firmware, blob, x, lambda load, xin: (
            "import machine, uctypes, tinyml\n"
            f"m = tinyml.load({load})\n"
            f"o = bytearray({out_size})\n"
            f"m.invoke({xin}, o)\nprint('LAYERS-DONE')\nmachine.reset()\n"),
            ["-d", "exec,nochain,in_asm", "-D", str(log)])
        if "LAYERS-DONE" not in out:
            raise RuntimeError(f"{board}: the traced run did not finish: {out[-300:]!r}")
        sizes, runs = {}, []
        block = None
        with open(log, errors="replace") as f:
            for line in f:
                if line.startswith("Trace "):
                    pc = int(re.search(r"\[[0-9a-f]+/([0-9a-f]+)/", line).group(1), 16)
                    runs.append(pc)
                elif line.startswith("IN:"):
                    block = None
                elif line.startswith("0x") and ":" in line:
                    pc = int(line.split(":")[0], 16)
                    if block is None:
                        block = pc
                        sizes[pc] = 0
                    sizes[block] += 1
                elif not line.strip():
                    block = None
    return [(pc, sizes.get(pc, 0)) for pc in runs]


def layer_instructions(model, board, firmware=None):
    """[dict(index, op, kernel, macs, instructions)] plus an 'invoke
    overhead' row (binding-side copies, executor before the first kernel)."""
    from tinyml_converter.blob import read_blob
    from tinyml_converter.cli import op_macs
    from tinyml_converter.host_runtime import HostModel

    firmware = Path(firmware or ROOT / "build" / board / "firmware.elf")
    blob = (OUT_DIR / f"{model}.tinyml").read_bytes()
    host = HostModel(blob)
    from bench import bench_input

    x = bench_input(host.input_shapes[0])
    trace = _trace(board, firmware, blob, x, int(np.prod(host.output_shapes[0])))

    syms = _symbols(firmware, board)
    starts = [s[0] for s in syms]

    def name_at(pc):
        i = bisect.bisect_right(starts, pc) - 1
        return syms[i][2] if i >= 0 and pc < syms[i][0] + max(syms[i][1], 2) else "?"

    entry = {s[2]: s[0] for s in syms}
    kernel_of = {entry[k]: k for k in KERNELS.values() if k in entry}
    begin = next(i for i, (pc, _) in enumerate(trace) if pc == entry["tml_model_invoke"])
    segments = collections.defaultdict(int)   # kernel call number -> instructions
    functions = collections.defaultdict(collections.Counter)  # call number -> name -> instructions
    calls, current, end_seen = [], -1, False
    for pc, n in trace[begin:]:
        name = name_at(pc)
        if pc in kernel_of:
            calls.append(kernel_of[pc])
            current = len(calls) - 1
        elif not HELPERS.match(name):
            end_seen = True
            break
        segments[current] += n
        functions[current][name] += n
    if not end_seen:
        raise RuntimeError("the invoke's end was not found in the trace")

    info = read_blob(blob)
    rows, k = [], 0
    for op in info.ops:
        kernel = KERNELS.get(op["name"])
        count = len(op["inputs"]) if op["name"] == "CONCATENATION" else (1 if kernel else 0)
        got = calls[k:k + count]
        if got != [kernel] * count:
            raise RuntimeError(f"op {op['index']} {op['name']}: expected {count} call(s) of "
                               f"{kernel}, the trace has {got}")
        rows.append(dict(index=op["index"], op=op["name"], kernel=kernel or "",
                         macs=op_macs(info, op),
                         instructions=sum(segments[c] for c in range(k, k + count)),
                         functions=sum((functions[c] for c in range(k, k + count)),
                                       collections.Counter())))
        k += count
    rows.append(dict(index="", op="invoke overhead", kernel="", macs=0, instructions=segments[-1],
                     functions=functions[-1]))
    return rows


def write(model, board, rows):
    path = OUT_DIR / f"layers_{model}_{board}.csv"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["index", "op", "kernel", "macs", "instructions",
                                          "instructions_per_mac"])
        w.writeheader()
        for r in rows:
            w.writerow(dict({k: v for k, v in r.items() if k != "functions"}, instructions_per_mac=round(r["instructions"] / r["macs"], 3)
                            if r["macs"] else ""))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return path, None
    labels = [f"{r['index']} {r['op']}" if r["index"] != "" else r["op"] for r in rows]
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(rows) + 1.5))
    ax.barh(range(len(rows)), [r["instructions"] for r in rows])
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"instructions (qemu -icount), one invoke on {board}")
    ax.set_title(f"{model}: {sum(r['instructions'] for r in rows):,} instructions")
    fig.tight_layout()
    png = path.with_suffix(".png")
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return path, png


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    by_function = "--functions" in argv
    argv = [a for a in argv if a != "--functions"]
    if len(argv) != 2:
        print(__doc__.splitlines()[3].strip() + " [--functions]", file=sys.stderr)
        return 2
    model, board = argv
    rows = layer_instructions(model, board)
    path, png = write(model, board, rows)
    total = sum(r["instructions"] for r in rows)
    for r in rows:
        ipm = f"{r['instructions'] / r['macs']:.2f}" if r["macs"] else ""
        print(f"{str(r['index']):>3} {r['op']:18} {r['macs']:>9} {r['instructions']:>10} {ipm:>6}")
        if by_function:
            for name, n in r["functions"].most_common():
                print(f"      {name:40} {n:>10} {100 * n / max(r['instructions'], 1):5.1f}%")
    print(f"total {total} instructions; {path}" + (f", {png}" if png else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
