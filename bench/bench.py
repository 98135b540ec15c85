#!/usr/bin/env python3
"""tinyml benchmark: speed, RAM and flash of the benchmark models
(bench/models.py) on the emulated Cortex-M boards and on the host.

    .venv/bin/python bench/bench.py [--models a,b] [--targets qemu_m0,qemu_m3,qemu_m4,unix]

How each figure is measured:
- instructions: the firmware runs under `qemu-system-arm -icount shift=0`
  (qemu-system-riscv32 for qemu_rv32),
  where virtual time advances one nanosecond per executed instruction. The
  blob and an input are preloaded into board memory by QEMU's loader device;
  a MicroPython script loads the blob in place, runs one warm-up invoke and
  then `runs` timed `Model.invoke(x, out)` calls, each bracketed by
  time.ticks_cpu(). ticks_cpu() counts the SoC timer: 25 MHz on the MPS2
  boards (40 instructions per tick), 1 MHz on the microbit (1000 instructions
  per tick, so qemu_m0 figures are +-1000 instructions), the CLINT's 10 MHz
  mtime on the RISC-V virt machine (qemu_rv32: 100 instructions per tick). The median of the
  runs is reported; it includes everything one invoke() costs (the Python
  call, input copy, every op).
- host_ms: the unix firmware (build/unix/micropython), the fastest of `runs`
  invokes timed with time.ticks_us(); tflite_ref_ms / tflite_default_ms:
  tf.lite.Interpreter with BUILTIN_REF / default (optimised) kernels, one
  thread, the fastest of `runs` invoke() calls, in the same benchmark run.
  Wall time on a shared machine: the fastest run is the one least disturbed
  by other work (medians of the same code moved by 1.7x between runs here),
  and the ratio is the meaningful figure.
- arena_bytes / arena_lower_bound: from the converter's offline plan (the
  plain one: every tensor whole, inputs in the arena; its lower bound is the
  tensor-level one).
- plans (RAM table): the same model converted with --ram-budget min (the
  smallest arena: inputs read in place, first layers tiled) and with the
  budgets of RAM_BUDGETS; per plan its arena, the ratio to the plain plan's
  lower bound, and per board its instructions per invoke over the plain
  plan's (overhead), measured as the instructions above, bit-exact checked.
- tflm_arena_bytes / tflm_arena_head: TensorFlow Lite Micro's arena for the
  same .tflite (its Python interpreter, RecordingMicroAllocator, installed
  by `make bench`; "-" without it): the total,
  and its "head", the part that holds the activations as ours does (the
  rest, the tail, is TFLM's per-tensor and per-op state, which our blob
  keeps in flash).
- blob_bytes / tflite_bytes: file sizes.
- weight_bytes: the raw weights and biases, i.e. the bytes of the constant
  filter and bias tensors of every CONV_2D, DEPTHWISE_CONV_2D and
  FULLY_CONNECTED in the .tflite; blob_overhead = blob_bytes - weight_bytes
  (header, tensor table, op records, rescale multipliers and shifts, LUTs,
  metadata, CRC), against the budget 256 + 16 per op of the blob;
  rescale_bytes: the part of it that is the per-channel multipliers and
  shifts (int32 each, precomputed in flash rather than in RAM at load).
- flash_bytes: text + data of our module's object files in that board's
  firmware build (arm-none-eabi-size), i.e. what the module adds to the
  firmware; unix: not measured.
- bit_exact: the board's output bytes equal TFLite BUILTIN_REF's.
- vs TFLM+CMSIS-NN: our instructions over the published figures of
  bench/peers.py (TFLite Micro with CMSIS-NN on the MLPerf Tiny models, the
  same harness and emulator), per board; the goal is at most 0.5.
- fc_weights int16 and pairs (the FC_WIDE models): the same .tflite
  converted with `--fc-weights int16` (FULLY_CONNECTED weights pre-widened)
  and with `--fc-weights pairs` (two rows a word), each measured as the
  instructions above on every Cortex-M board its blob fits, bit-exact
  checked; its blob bytes against the plain blob's are the flash it costs.
- per layer (--layers MODEL:BOARD, by default kws_dscnn on qemu_m4): each
  op's instructions in one invoke, from QEMU's execution trace
  (bench/layers.py says how), written to build/bench/layers_*.csv and .png.
"""

import argparse
import contextlib
import hashlib
import inspect
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "converter"), str(ROOT / "bench")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

OUT_DIR = ROOT / "build" / "bench"
QEMU_TARGETS = ("qemu_m0", "qemu_m3", "qemu_m4", "qemu_rv32")
# Instructions per ticks_cpu() tick under -icount shift=0 (ports/qemu/qemu_ticks.c).
INSTR_PER_TICK = {"qemu_m0": 1000, "qemu_m3": 40, "qemu_m4": 40, "qemu_rv32": 100}
# Targets of the speed issue (Cortex-M only; none is set for RISC-V).
TARGET_IPM = {"qemu_m0": 5.0, "qemu_m3": 2.5, "qemu_m4": 1.5}
# RAM issue: besides the smallest arena, these budgets (convert --ram-budget)
# are benchmarked: VWW's at half its tensor-level lower bound, overhead on
# qemu_m4 at most 1.15x.
RAM_BUDGETS = {"vww_mobilenet": (27648,)}
TILED_OVERHEAD_TARGET = 1.15
# Models also benchmarked with --fc-weights int16: those whose MACs are
# mostly FULLY_CONNECTED (elsewhere the option changes a few per cent).
FC_WIDE = ("ad_autoencoder",)
FC_LAYOUTS = ("int16", "pairs")  # --fc-weights values bench measures them with


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------- conversion

def convert_model(name, builder):
    """(tflite bytes, blob bytes, report); the .tflite is cached by the
    builder's source so reruns skip TensorFlow's quantiser."""
    from tinyml_converter import convert

    key = hashlib.sha256(inspect.getsource(builder).encode()).hexdigest()[:16]
    tfl_path = OUT_DIR / f"{name}.tflite"
    key_path = OUT_DIR / f"{name}.key"
    if tfl_path.exists() and key_path.exists() and key_path.read_text() == key:
        tflite = tfl_path.read_bytes()
    else:
        log(f"[bench] {name}: quantising with TFLite (cached afterwards)")
        keras_model, calib = builder()
        with contextlib.redirect_stdout(io.StringIO()):
            tflite = convert.keras_to_tflite(keras_model, calib)
        tfl_path.write_bytes(tflite)
        key_path.write_text(key)
    blob, rep = convert.convert_tflite(tflite, name=name)
    (OUT_DIR / f"{name}.tinyml").write_bytes(blob)
    return tflite, blob, rep


def tiled_variants(name, tflite):
    """[(label, blob, report)] of the plans --ram-budget gives: the smallest
    arena ("min"), and the model's budget in RAM_BUDGETS."""
    from tinyml_converter import convert

    out = []
    for label, budget in (("min", "min"), *((str(b), b) for b in RAM_BUDGETS.get(name, ()))):
        blob, rep = convert.convert_tflite(tflite, name=name, ram_budget=budget)
        out.append((label, blob, rep))
    return out


def _tflite_worker(tflite_path, x_path, runs, ref, out_path):
    """Child process body: TFLite can abort the whole process (it does, in
    BUILTIN_REF's allocate_tensors, on some models), so it never runs in the
    benchmark's own process."""
    import tensorflow as tf

    kw = dict(model_content=Path(tflite_path).read_bytes(), num_threads=1)
    if ref:
        kw["experimental_op_resolver_type"] = tf.lite.experimental.OpResolverType.BUILTIN_REF
    it = tf.lite.Interpreter(**kw)
    it.allocate_tensors()
    din, dout = it.get_input_details()[0], it.get_output_details()[0]
    x = np.load(x_path)
    it.set_tensor(din["index"], x.reshape(din["shape"]))
    it.invoke()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        it.invoke()
        times.append((time.perf_counter() - t0) * 1e3)
    Path(out_path).write_text(json.dumps(dict(
        y=it.get_tensor(dout["index"]).tobytes().hex(), ms=min(times))))


def _tflm_worker(tflite_path):
    """Child process body: TFLM prints its arena use from C++ to stderr."""
    from tflite_micro.python.tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(Path(tflite_path).read_bytes(), arena_size=4 << 20)
    shape = it.get_input_details(0)["shape"]
    it.set_input(np.zeros(shape, np.int8), 0)
    it.invoke()
    it.print_allocations()


def tflm_arena(tflite_path):
    """(total, head) bytes of TFLite Micro's arena, or (None, None)."""
    res = subprocess.run([sys.executable, __file__, "--tflm-worker", str(tflite_path)],
                         capture_output=True, text=True)
    total = re.search(r"Arena allocation total (\d+) bytes", res.stderr)
    head = re.search(r"Arena allocation head (\d+) bytes", res.stderr)
    if res.returncode != 0 or not total or not head:
        last = (res.stderr or res.stdout).strip().splitlines()[-1:] or [f"exit status {res.returncode}"]
        log(f"[bench] TFLite Micro could not run {Path(tflite_path).name}: {last[0]}")
        return None, None
    return int(total.group(1)), int(head.group(1))


def tflite_run(tflite_path, x, runs, ref):
    """(output bytes, fastest ms per invoke), or (None, None) when TFLite
    cannot run the model."""
    with tempfile.TemporaryDirectory() as d:
        xp, op = Path(d) / "x.npy", Path(d) / "out.json"
        np.save(xp, x)
        res = subprocess.run([sys.executable, __file__, "--tflite-worker", str(tflite_path), str(xp),
                              str(runs), "1" if ref else "0", str(op)], capture_output=True)
        if res.returncode != 0 or not op.exists():
            log(f"[bench] TFLite ({'BUILTIN_REF' if ref else 'default'}) failed on {tflite_path.name} "
                f"(exit {res.returncode})")
            return None, None
        r = json.loads(op.read_text())
    return bytes.fromhex(r["y"]), r["ms"]


# ------------------------------------------------------------------- boards

def _bench_script(load_expr, x_expr, out_size, runs):
    return (
        "import binascii, time, tinyml\n"
        f"m = tinyml.load({load_expr})\n"
        f"x = {x_expr}\n"
        f"o = bytearray({out_size})\n"
        "m.invoke(x, o)\n"
        "ts = []\n"
        f"for i in range({runs}):\n"
        "    t0 = time.ticks_cpu()\n"
        "    m.invoke(x, o)\n"
        "    ts.append(time.ticks_diff(time.ticks_cpu(), t0))\n"
        "print('BENCH', ' '.join(str(t) for t in ts), binascii.hexlify(o).decode())\n"
    )


def _parse(out, where):
    found = re.search(r"BENCH ([0-9 ]+) ([0-9a-f]*)", out)
    if not found:
        tail = [ln for ln in out.replace("\x04", "\n").splitlines() if ln.strip()][-3:]
        raise RuntimeError(f"{where}: no benchmark output: {' | '.join(tail)}")
    return [int(t) for t in found.group(1).split()], bytes.fromhex(found.group(2))


def bench_input(shape):
    """The seeded input every benchmark and trace runs."""
    return np.random.default_rng(1).integers(-128, 128, size=shape, dtype=np.int8)


def run_preloaded(board, firmware, blob, x, make_script, qemu_args=()):
    """stdout of `firmware` on qemu `board` under -icount shift=0, with the
    blob and the input x preloaded into board memory by QEMU's loader
    device, running the raw-REPL script make_script(load_expr, x_expr)
    (expressions for the blob and the input in place); qemu_args are added
    (tracing, for one)."""
    from tinyml_converter.boards import BOARDS, qemu_command

    b = BOARDS[board]
    x_off = (len(blob) + 7) & ~7
    payload = blob + bytes(x_off - len(blob)) + x.tobytes()
    if b.preload_base + len(payload) > b.preload_limit:
        raise RuntimeError(f"blob {len(blob)} B does not fit the preload area")
    script = make_script(
        f"memoryview(uctypes.bytearray_at({b.preload_base:#x}, {len(payload)}))[:{len(blob)}]",
        f"memoryview(uctypes.bytearray_at({b.preload_base + x_off:#x}, {x.size}))")
    with tempfile.TemporaryDirectory() as d:
        data = Path(d) / "payload.bin"
        data.write_bytes(payload)
        cmd = qemu_command(board, firmware, [(data, b.preload_base)])
        cmd = cmd[:-2] + ["-icount", "shift=0", "-serial", "stdio", *qemu_args] + cmd[-2:]
        res = subprocess.run(cmd, input=b"\x01" + script.encode() + b"\x04",
                             capture_output=True, timeout=1800)
    return res.stdout.decode(errors="replace")


def run_qemu(board, blob, x, out_size, runs):
    """(instructions per invoke, output bytes) or raises RuntimeError."""
    fw = ROOT / "build" / board / "firmware.elf"
    if not fw.exists():
        raise RuntimeError(f"{fw} missing (make firmware BOARD={board})")
    out = run_preloaded(board, fw, blob, x, lambda load, xin: (
        "import machine, uctypes\n" + _bench_script(load, xin, out_size, runs) + "machine.reset()\n"))
    if "MemoryError" in out:
        raise RuntimeError("does not fit: MemoryError (arena larger than the heap)")
    ticks, y = _parse(out, board)
    return int(statistics.median(ticks)) * INSTR_PER_TICK[board], y


def run_unix(blob_path, x, out_size, runs):
    """(ms per invoke, output bytes) on the unix firmware."""
    mp = ROOT / "build" / "unix" / "micropython"
    with tempfile.TemporaryDirectory() as d:
        xp = Path(d) / "x.bin"
        xp.write_bytes(x.tobytes())
        script = _bench_script(repr(str(blob_path)), f"open({str(xp)!r}, 'rb').read()",
                               out_size, runs).replace("ticks_cpu", "ticks_us")
        res = subprocess.run([str(mp), "-c", script], capture_output=True, timeout=1800)
    us, y = _parse(res.stdout.decode(errors="replace") + res.stderr.decode(errors="replace"), "unix")
    return min(us) / 1e3, y


def flash_bytes(board):
    """text + data of the module's objects in the board's firmware build."""
    objs = sorted((ROOT / "build" / board / "obj" / "usermod_c").glob("*.o"))
    if not objs:
        return None
    size = "riscv64-unknown-elf-size" if board == "qemu_rv32" else "arm-none-eabi-size"
    res = subprocess.run([size, "-t", *map(str, objs)],
                         capture_output=True, text=True, check=True)
    text, data = res.stdout.strip().splitlines()[-1].split()[:2]
    return int(text) + int(data)


# -------------------------------------------------------------------- main

WEIGHTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def weight_bytes(tflite):
    """Bytes of the constant filters and biases of the weighted ops, each
    distinct array once (a blob stores identical arrays once, e.g. the zero
    biases of convolutions followed by batch norm)."""
    from tinyml_converter.tflite_model import read_tflite

    model = read_tflite(tflite)
    arrays = set()
    for op in model.ops:
        if op.name not in WEIGHTED_OPS:
            continue
        for i in op.inputs[1:]:
            if i >= 0 and model.tensors[i].is_const:
                arrays.add(model.tensors[i].data.tobytes())
    return sum(len(a) for a in arrays)


def rescale_bytes(blob):
    """Bytes of the blob's per-channel multiplier and shift arrays (int32
    each, identical arrays stored once)."""
    from tinyml_converter.blob import read_blob

    arrays = set()
    for op in read_blob(blob).ops:
        prm = op["params"]
        if "multiplier" in prm and "channel_quant" in prm:
            arrays.add((prm["multiplier"], 4 * prm["channel_quant"]))
            arrays.add((prm["shift"], 4 * prm["channel_quant"]))
    return sum(n for _, n in arrays)


def bench_model(name, builder, targets, runs, qemu_runs):
    tflite, blob, rep = convert_model(name, builder)
    blob_path = OUT_DIR / f"{name}.tinyml"
    from tinyml_converter.host_runtime import HostModel

    shape = HostModel(blob).input_shapes[0]
    x = bench_input(shape)
    tfl_path = OUT_DIR / f"{name}.tflite"
    y_ref, ref_ms = tflite_run(tfl_path, x, runs, ref=True)
    y_default, default_ms = tflite_run(tfl_path, x, runs, ref=False)
    oracle = "TFLite BUILTIN_REF"
    if y_ref is None:
        # Compared with TFLite's default kernels instead (not our oracle).
        y_ref, oracle = y_default, "TFLite default kernels (BUILTIN_REF aborted)"
    out_size = int(np.prod(HostModel(blob).output_shapes[0]))
    weights, rescale = weight_bytes(tflite), rescale_bytes(blob)
    tflm_total, tflm_head = tflm_arena(tfl_path)
    common = dict(model=name, macs=rep.macs, compared_with=oracle, arena_bytes=rep.arena_size,
                  arena_lower_bound=rep.lower_bound, tflm_arena_bytes=tflm_total,
                  tflm_arena_head=tflm_head, blob_bytes=len(blob),
                  tflite_bytes=len(tflite), weight_bytes=weights,
                  blob_overhead=len(blob) - weights, rescale_bytes=rescale, blob_ops=len(rep.ops),
                  blob_overhead_budget=256 + 16 * len(rep.ops))
    records = []
    variants = tiled_variants(name, tflite)
    layouts = {}
    if name in FC_WIDE:
        from tinyml_converter import convert

        layouts = {f"fc_{lay}": convert.convert_tflite(tflite, name=name, fc_weights=lay)[0]
                   for lay in FC_LAYOUTS}

    def one(target):
        rec = dict(common, target=target)
        try:
            if target in QEMU_TARGETS:
                rec["plans"] = []
                for label, tiled_blob, trep in variants:
                    instr, y = run_qemu(target, tiled_blob, x, out_size, qemu_runs)
                    rec["plans"].append(dict(budget=label, arena_bytes=trep.arena_size, plan=trep.tiling,
                                             instructions=instr, bit_exact=None if y_ref is None else y == y_ref))
            if target == "unix":
                ms, y = run_unix(blob_path, x, out_size, runs)
                rec.update(host_ms=round(ms, 4), tflite_ref_ms=ref_ms and round(ref_ms, 4),
                           tflite_default_ms=default_ms and round(default_ms, 4),
                           ratio_ref=ref_ms and round(ms / ref_ms, 3),
                           ratio_default=default_ms and round(ms / default_ms, 3))
            else:
                instr, y = run_qemu(target, blob, x, out_size, qemu_runs)
                rec.update(instructions=instr,
                           instructions_per_mac=round(instr / rep.macs, 3) if rep.macs else None,
                           flash_bytes=flash_bytes(target))
            rec["bit_exact"] = None if y_ref is None else y == y_ref
            for key, wide in layouts.items():
                if target not in QEMU_TARGETS or target == "qemu_rv32":
                    break
                try:
                    w_instr, w_y = run_qemu(target, wide, x, out_size, qemu_runs)
                    rec[key] = dict(instructions=w_instr, blob_bytes=len(wide),
                                    bit_exact=None if y_ref is None else w_y == y_ref)
                    rec["bit_exact"] = rec["bit_exact"] and rec[key]["bit_exact"] is not False
                except RuntimeError as exc:
                    rec[key] = dict(error=str(exc), blob_bytes=len(wide))
            for p in rec.get("plans", ()):
                p["overhead"] = round(p["instructions"] / rec["instructions"], 4)
                rec["bit_exact"] = rec["bit_exact"] and p["bit_exact"] is not False
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            rec["error"] = str(exc)
        log(f"[bench] {name} on {target}: "
            + ", ".join(f"{k}={v}" for k, v in rec.items() if k not in common and k != "target"))
        return rec

    with ThreadPoolExecutor(max_workers=2) as pool:
        records = list(pool.map(one, targets))
    return records


def fmt(v, spec=""):
    return "-" if v is None else format(v, spec)


def by_model(records, model):
    return next(r for r in records if r["model"] == model)


def print_table(records, targets):
    models = list(dict.fromkeys(r["model"] for r in records))
    by = {(r["model"], r["target"]): r for r in records}
    qemu = [t for t in targets if t in QEMU_TARGETS]
    head = f"{'model':15} {'MACs':>9}"
    for t in qemu:
        head += f" {t + ' instr':>15} {'/MAC':>6}"
    head += (f" {'host ms':>8} {'/ref':>6} {'/dflt':>6} {'arena':>7} {'bound':>7} {'TFLM':>7} {'blob':>8}"
             f" {'tflite':>8} {'ovhd':>6} {'budget':>6} exact")
    print(head)
    for m in models:
        any_rec = next(r for r in records if r["model"] == m)
        line = f"{m:15} {any_rec['macs']:9d}"
        exact = []
        for t in qemu:
            r = by.get((m, t), {})
            if "instructions" in r:
                line += f" {r['instructions']:15d} {r['instructions_per_mac']:6.2f}"
            else:
                line += f" {'n/a':>15} {'':>6}"
            exact.append(r.get("bit_exact"))
        u = by.get((m, "unix"), {})
        exact.append(u.get("bit_exact"))
        line += (f" {fmt(u.get('host_ms'), '8.3f'):>8} {fmt(u.get('ratio_ref'), '6.2f'):>6}"
                 f" {fmt(u.get('ratio_default'), '6.2f'):>6}")
        line += (f" {any_rec['arena_bytes']:7d} {any_rec['arena_lower_bound']:7d}"
                 f" {fmt(any_rec.get('tflm_arena_bytes')):>7}"
                 f" {any_rec['blob_bytes']:8d} {any_rec['tflite_bytes']:8d}"
                 f" {any_rec['blob_overhead']:6d} {any_rec['blob_overhead_budget']:6d}")
        known = [e for e in exact if e is not None]
        line += " " + ("yes" if known and all(known) else ("NO" if known else "-"))
        print(line)
    for m in models:
        any_rec = next(r for r in records if r["model"] == m)
        if any_rec["compared_with"] != "TFLite BUILTIN_REF":
            print(f"  note: {m}: outputs compared with {any_rec['compared_with']}")
    for r in records:
        if "error" in r:
            print(f"  note: {r['model']} on {r['target']}: {r['error']}")
    flash = {t: next((r.get("flash_bytes") for r in records if r["target"] == t), None) for t in qemu}
    if flash:
        print("flash (module text+data): " + ", ".join(f"{t} {fmt(v)} B" for t, v in flash.items()))
    for t in qemu:
        vals = [by[(m, t)]["instructions_per_mac"] for m in models
                if "instructions_per_mac" in by.get((m, t), {})]
        if vals and t in TARGET_IPM:
            worst = max(vals)
            print(f"{t}: worst {worst:.2f} instructions/MAC, target <= {TARGET_IPM[t]}: "
                  f"{'met' if worst <= TARGET_IPM[t] else 'NOT met'}")
    at_bound = all(by_model(records, m)["arena_bytes"] == by_model(records, m)["arena_lower_bound"] for m in models)
    print(f"arena: {'equal to' if at_bound else 'NOT always equal to'} the offline lower bound; "
          "TFLite Micro's arena total (activations part) for the same .tflite: "
          + ", ".join(f"{m} {fmt(by_model(records, m).get('tflm_arena_bytes'))}"
                      f" ({fmt(by_model(records, m).get('tflm_arena_head'))}) B" for m in models))
    print_peer_table(models, qemu, by)
    print_fc_wide_table(models, qemu, by)
    print_ram_table(records, models, qemu, by)
    over = [m for m in models if by_model(records, m)["blob_overhead"] > by_model(records, m)["blob_overhead_budget"]]
    print(f"blob overhead above weights and biases, budget 256 + 16/op: "
          f"{'met' if not over else 'NOT met (' + ', '.join(over) + ')'}; without the rescale arrays: "
          + ", ".join(f"{m} {by_model(records, m)['blob_overhead'] - by_model(records, m)['rescale_bytes']}"
                      f"/{by_model(records, m)['blob_overhead_budget']} B" for m in models))
    ratios = [by[(m, "unix")]["ratio_ref"] for m in models if by.get((m, "unix"), {}).get("ratio_ref")]
    if ratios:
        print(f"unix: worst ratio to TFLite BUILTIN_REF {max(ratios):.2f}, target <= 0.5: "
              f"{'met' if max(ratios) <= 0.5 else 'NOT met'}")


def print_peer_table(models, qemu, by):
    """Our instructions over TFLM + CMSIS-NN's published ones (bench/peers.py)."""
    import peers

    shown = [m for m in models if m in peers.TFLM_CMSIS_NN]
    boards = [t for t in qemu if any(t in peers.TFLM_CMSIS_NN[m][2] for m in shown)]
    if not shown or not boards:
        return
    print(f"{'vs TFLM+CMSIS-NN':17}" + "".join(f" {t + ' ours/theirs':>28}" for t in boards)
          + f" {'TFLM arena':>11} {'ours':>7}")
    worst, worst_best_layout = {}, {}
    for m in shown:
        _, _, instr, tflm_arena = peers.TFLM_CMSIS_NN[m]
        line = f"{m:17}"
        for t in boards:
            ours = by.get((m, t), {}).get("instructions")
            if ours is None or t not in instr:
                line += f" {'-':>28}"
                continue
            ratio = ours / instr[t]
            worst[t] = max(worst.get(t, 0), ratio)
            # The same with the model's fastest --fc-weights layout on this core, where one was measured.
            layouts = [r["instructions"] for k, r in by[(m, t)].items()
                       if k.startswith("fc_") and isinstance(r, dict) and r.get("bit_exact")]
            worst_best_layout[t] = max(worst_best_layout.get(t, 0), min([ours, *layouts]) / instr[t])
            line += f" {ratio:6.3f} ({ours:>9d}/{instr[t]:>9d})"
        rec = next(r for (mm, _), r in by.items() if mm == m)
        line += f" {tflm_arena:11d} {rec['arena_bytes']:7d}"
        print(line)
    print("speed goal (<= " + f"{peers.TARGET_RATIO} of TFLM+CMSIS-NN on every model): "
          + ", ".join(f"{t} worst {w:.3f} {'met' if w <= peers.TARGET_RATIO else 'NOT met'}" for t, w in worst.items()))
    if worst_best_layout != worst:
        print("  with each core's fastest --fc-weights layout (twice the dense layers' flash): "
              + ", ".join(f"{t} worst {w:.3f} {'met' if w <= peers.TARGET_RATIO else 'NOT met'}"
                          for t, w in worst_best_layout.items()))


def print_fc_wide_table(models, qemu, by):
    """The FC_WIDE models converted with each --fc-weights layout:
    instructions, ratio to TFLM+CMSIS-NN, and the flash the layout costs."""
    import peers

    for m, lay in ((m, lay) for m in models for lay in FC_LAYOUTS):
        key = f"fc_{lay}"
        if not any(key in by.get((m, t), {}) for t in qemu):
            continue
        plain = next(r for (mm, _), r in by.items() if mm == m)
        wide_bytes = next(by[(m, t)][key]["blob_bytes"] for t in qemu if key in by.get((m, t), {}))
        print(f"{m} with --fc-weights {lay} (blob {plain['blob_bytes']} -> {wide_bytes} B):")
        peer = peers.TFLM_CMSIS_NN.get(m, (None, None, {}, None))[2]
        for t in qemu:
            w = by.get((m, t), {}).get(key)
            if w is None:
                continue
            if "error" in w:
                print(f"  {t}: {w['error']}")
                continue
            base = by[(m, t)].get("instructions")
            ratio = f", {w['instructions'] / peer[t]:.3f} of TFLM+CMSIS-NN" if t in peer else ""
            print(f"  {t}: {w['instructions']} instructions, {w['instructions'] / plain['macs']:.2f}/MAC, "
                  f"{w['instructions'] / base:.3f}x the int8 weights'{ratio}, "
                  f"exact {'yes' if w['bit_exact'] else ('NO' if w['bit_exact'] is False else '-')}")


def print_ram_table(records, models, qemu, by):
    """Arena of each --ram-budget plan against the tensor-level lower bound,
    and its instructions against the plain plan's on each board."""
    print(f"{'RAM plans':15} {'budget':>8} {'arena':>7} {'bound':>7} {'ratio':>6} "
          + " ".join(f"{t + ' overhead':>17}" for t in qemu) + "  exact  plan")
    worst = {}
    for m in models:
        base = by_model(records, m)
        plans = next((r["plans"] for r in records if r["model"] == m and r.get("plans")), [])
        for k, p in enumerate(plans):
            line = (f"{m if k == 0 else '':15} {p['budget']:>8} {p['arena_bytes']:7d} {base['arena_lower_bound']:7d}"
                    f" {p['arena_bytes'] / base['arena_lower_bound']:6.2f}")
            exact = []
            for t in qemu:
                q = next((x for x in by.get((m, t), {}).get("plans", ()) if x["budget"] == p["budget"]), None)
                line += f" {fmt(q and q.get('overhead'), '17.3f'):>17}"
                if q is not None:
                    exact.append(q["bit_exact"])
                    if t == "qemu_m4" and q.get("overhead"):
                        worst[(m, p["budget"])] = q["overhead"]
            known = [e for e in exact if e is not None]
            line += f"  {'yes' if known and all(known) else ('NO' if known else '-'):5}  {p['plan']}"
            print(line)
    for (m, budget), overhead in worst.items():
        if budget != "min":
            print(f"{m} at --ram-budget {budget}: qemu_m4 overhead {overhead:.3f}x, target <= "
                  f"{TILED_OVERHEAD_TARGET}: {'met' if overhead <= TILED_OVERHEAD_TARGET else 'NOT met'}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--tflite-worker"]:
        _tflite_worker(argv[1], argv[2], int(argv[3]), argv[4] == "1", argv[5])
        return 0
    if argv[:1] == ["--tflm-worker"]:
        _tflm_worker(argv[1])
        return 0
    import models

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(models.MODELS), help="comma-separated names")
    ap.add_argument("--targets", default=",".join((*QEMU_TARGETS, "unix")))
    ap.add_argument("--runs", type=int, default=20, help="timed invokes on the host")
    ap.add_argument("--qemu-runs", type=int, default=3, help="timed invokes on qemu (deterministic)")
    ap.add_argument("--json", default=str(OUT_DIR / "bench.json"))
    ap.add_argument("--layers", default="kws_dscnn:qemu_m4",
                    help="MODEL:BOARD whose per-layer instructions to chart ('none': skip)")
    a = ap.parse_args(argv)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    targets = [t for t in a.targets.split(",") if t]
    names = [n for n in a.models.split(",") if n]
    unknown = [n for n in names if n not in models.MODELS]
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(models.MODELS)}")
    records = []
    for n in names:
        records += bench_model(n, models.MODELS[n], targets, a.runs, a.qemu_runs)
    Path(a.json).write_text(json.dumps(records, indent=1))
    print_table(records, targets)
    print(f"(records: {a.json}; how each figure is measured: bench/bench.py docstring)")
    if a.layers != "none":
        model, _, board = a.layers.partition(":")
        if model in names and board in targets:
            import layers

            rows = layers.layer_instructions(model, board)
            csv_path, png = layers.write(model, board, rows)
            worst = max((r for r in rows if r["macs"]), key=lambda r: r["instructions"] / r["macs"])
            print(f"per layer: {model} on {board}, {sum(r['instructions'] for r in rows)} instructions "
                  f"in tml_model_invoke(); most per MAC: op {worst['index']} {worst['op']} "
                  f"{worst['instructions'] / worst['macs']:.2f}; {csv_path}" + (f", {png}" if png else ""))
    bad = [r for r in records if r.get("bit_exact") is False]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
