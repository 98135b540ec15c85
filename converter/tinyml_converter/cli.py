"""The `tinyml` command line: convert, inspect, check, run, deploy, flash, record.

Errors print one line and exit with a code from errors.py: 0 success;
1 the model cannot be converted; 2 bad arguments or an unreadable or invalid
input file; 3 the model does not fit the board (check); 4 the board could
not be reached or failed; 5 something needed is not installed or built;
70 a bug in tinyml.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import __version__
from .artifacts import firmware_path, unix_micropython
from .errors import (EXIT_INTERNAL, EXIT_NO_FIT, EXIT_OK, EXIT_USAGE, BlobError, BoardError,
                     CoreUnavailable, MissingTool, TinymlError, UsageError)
from . import blob_layout as bl
from .quant import dequantize, quantize

QEMU_TARGETS = ("qemu_m0", "qemu_m3", "qemu_m4", "qemu_rv32")


def _err(msg: str) -> None:
    print(f"tinyml: error: {' '.join(str(msg).split())}", file=sys.stderr)


@contextlib.contextmanager
def _progress_bars(unit: str, quiet: bool = False):
    """Yields report(label, done, total), which draws one tqdm bar on stderr
    per label in turn; none when stderr is not a terminal, or when quiet."""
    from tqdm import tqdm

    bar, bar_label = None, None

    def report(label, done, total):
        nonlocal bar, bar_label
        if label != bar_label:
            if bar is not None:
                bar.close()
            bar_label = label
            bar = tqdm(desc=label, total=total, unit=unit, unit_scale=unit == "B", file=sys.stderr,
                       disable=True if quiet else None, dynamic_ncols=True)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()  # now, not at the next label: what follows (a check on the board) is no transfer

    try:
        yield report
    finally:
        if bar is not None:
            bar.close()


# ---------------------------------------------------------------------------
# convert

def load_calib(path) -> np.ndarray:
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*.npy"))
        if not files:
            raise UsageError(f"calibration folder {p} holds no .npy files")
        arrays = [np.load(f, allow_pickle=False) for f in files]
        shapes = {a.shape for a in arrays}
        if len(shapes) == 1:
            return np.stack(arrays) if len(arrays) > 1 and arrays[0].ndim >= 1 else arrays[0]
        return np.concatenate(arrays)
    try:
        return np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:  # EOFError: an empty file
        raise UsageError(f"cannot read calibration data {p}: {exc}") from None


def _ram_budget(text: str):
    return "min" if text == "min" else _positive_int(text)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of bytes: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 byte, got {value}")
    return value


def _parse_normalize(text):
    try:
        mean, std = ([float(v) for v in part.split(",")] for part in text.split(":"))
    except ValueError:
        raise UsageError(f"--normalize {text!r}: expected MEAN,...:STD,... (comma-separated "
                         "numbers, one per channel, e.g. 0,0,1:0.5,0.5,0.5)") from None
    if len(mean) != len(std) or any(s <= 0 for s in std):
        raise UsageError(f"--normalize {text!r}: need as many means as stds, every std > 0")
    return mean, std


@contextlib.contextmanager
def _quiet_file_descriptors():
    """Send whatever is written to file descriptors 1 and 2 meanwhile
    (TensorFlow's C++ logging, its Python warnings) to nowhere."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def cmd_convert(a) -> int:
    from .convert import convert_file, model_kind
    from .isolated import RANDOM_CALIB_SAMPLES, convert_file_isolated

    from .tflite_model import TF_MISSING

    try:
        kind = model_kind(a.model)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if kind == "sklearn":
        if a.ram_budget is not None:
            raise UsageError("--ram-budget plans the arena of a neural network; a scikit-learn model's arena "
                             "is small and fixed (tinyml inspect shows it)")
        return _convert_sklearn(a)
    if importlib.util.find_spec("tensorflow") is None:
        raise MissingTool(TF_MISSING)
    out = Path(a.output) if a.output else Path(a.model).with_suffix(".tinyml")
    if out.parent and not out.parent.exists():
        raise UsageError(f"output folder {out.parent} does not exist")
    labels = None
    if a.labels:
        try:
            labels = [ln.strip() for ln in Path(a.labels).read_text("utf-8").splitlines() if ln.strip()]
        except OSError as exc:
            raise UsageError(f"cannot read labels: {exc}") from None
    normalize = _parse_normalize(a.normalize) if a.normalize else None
    calib = None
    if kind != "tflite":
        if a.calib:
            calib = load_calib(a.calib)
        elif a.random_calib:
            if kind != "keras":
                raise UsageError("--random-calib needs a .keras/.h5 model to know the input shape")
            print("tinyml: WARNING: calibrating with RANDOM data (--random-calib). The int8 "
                  "scales will fit noise, not your data: accuracy may be very poor. Use "
                  "--calib with real samples for anything but a smoke test.", file=sys.stderr)
        else:
            raise UsageError(
                "a Keras model needs --calib X.npy (or a folder of .npy): int8 quantisation "
                "picks each tensor's scale from the value ranges seen on representative "
                "inputs, so without real samples the model would be quantised blindly. "
                "(--random-calib exists for smoke tests only.)")
    samples = len(calib) if calib is not None else RANDOM_CALIB_SAMPLES if a.random_calib else 0
    if samples:
        print(f"tinyml: calibrating on {samples} samples", file=sys.stderr)
    print(f"tinyml: converting {a.model}", file=sys.stderr)
    if a.int16 and kind == "tflite":
        raise UsageError("--int16 quantises a Keras model 16x8; a .tflite is converted as it is "
                         "quantised (int8 or 16x8)")
    if kind == "tflite":
        # Reading a .tflite only parses it and runs one-op probes in TFLite's
        # interpreter, so it stays in this process (a child would cost a
        # TensorFlow import each time); the Keras path runs TFLiteConverter,
        # which can crash, in a child.
        with contextlib.nullcontext() if a.verbose else _quiet_file_descriptors():
            try:
                report = convert_file(a.model, out, labels=labels, name=a.name, normalize=normalize,
                                      embedding=a.embedding, ram_budget=a.ram_budget, fc_weights=a.fc_weights)
            except OSError as exc:
                raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    else:
        with _progress_bars("sample", quiet=a.no_progress) as report_progress:
            report = convert_file_isolated(
                a.model, out, calib=calib, random_calib=a.random_calib and calib is None, labels=labels,
                keep_tflite=a.keep_tflite, name=a.name, normalize=normalize,
                progress=functools.partial(report_progress, "calibration"), verbose=a.verbose,
                embedding=a.embedding, int16=a.int16, ram_budget=a.ram_budget, fc_weights=a.fc_weights)
    for note in report.notes:
        print(f"tinyml: {note}", file=sys.stderr)
    print(f"wrote {out}: {report.blob_size} bytes, arena {report.arena_size} bytes "
          f"(lower bound {report.lower_bound}), {len(report.ops)} ops, {report.macs} MACs")
    if a.ram_budget is not None:
        extra = (f"; about {report.tiling_extra_instructions} extra instructions per invoke (estimate; "
                 "`make bench` measures)" if report.tiling_extra_instructions else "")
        print(f"--ram-budget {a.ram_budget}: {report.tiling} (arena without it: {report.arena_untiled} "
              f"bytes){extra}")
    if a.fc_weights != "int8":
        stored, cores = {"int16": ("widened", "Cortex-M4/M7/M33"),
                         "pairs": ("stored in pairs of rows", "Cortex-M3/M4/M7/M33")}[a.fc_weights]
        print(f"--fc-weights {a.fc_weights}: FULLY_CONNECTED weights {stored}, {report.fc_weights_widened} bytes "
              f"more flash (faster on {cores} only)" if report.fc_weights_widened
              else f"--fc-weights {a.fc_weights}: the model has no int8 FULLY_CONNECTED layer; nothing changed")
    if report.tflite_path:
        print(f"wrote {report.tflite_path}")
    return EXIT_OK


def _convert_sklearn(a) -> int:
    """A scikit-learn estimator (classic.py): no calibration, no TensorFlow."""
    from .classic import convert_sklearn_file

    out = Path(a.output) if a.output else Path(a.model).with_suffix(".tinyml")
    if out.parent and not out.parent.exists():
        raise UsageError(f"output folder {out.parent} does not exist")
    for option in ("calib", "random_calib", "normalize", "keep_tflite", "int16"):
        if getattr(a, option):
            raise UsageError(f"--{option.replace('_', '-')} does not apply to a scikit-learn model")
    if a.fc_weights != "int8":
        raise UsageError("--fc-weights does not apply to a scikit-learn model")
    labels = None
    if a.labels:
        try:
            labels = [ln.strip() for ln in Path(a.labels).read_text("utf-8").splitlines() if ln.strip()]
        except OSError as exc:
            raise UsageError(f"cannot read labels: {exc}") from None
    print(f"tinyml: converting {a.model} (scikit-learn; a .joblib/.pkl file is a pickle, which runs "
          "code from the file: convert only files you trust)", file=sys.stderr)
    try:
        report = convert_sklearn_file(a.model, out, name=a.name, labels=labels)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"wrote {out}: {report.blob_size} bytes, arena {report.arena_size} bytes, {report.estimator} "
          f"as {', '.join(op for op, _ in report.ops)}")
    return EXIT_OK


# ---------------------------------------------------------------------------
# inspect

def _read(path):
    from .blob import read_blob

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data, read_blob(data)
    except BlobError as exc:
        raise UsageError(f"{path}: invalid .tinyml blob: {exc}") from None


def op_macs(info, op) -> int:
    t = info.tensors
    out = t[op["outputs"][0]]
    out_elems = int(np.prod(out["dims"]))
    p = op["params"]
    name = op["name"]
    if name == "CONV_2D":
        return out_elems * p["kernel_h"] * p["kernel_w"] * t[op["inputs"][0]]["dims"][3]
    if name == "DEPTHWISE_CONV_2D":
        return out_elems * p["kernel_h"] * p["kernel_w"]
    if name == "FULLY_CONNECTED":
        return int(np.prod(t[op["inputs"][0]]["dims"])) * out["dims"][3]
    if name == "TRANSPOSE_CONV":
        # TFLite's scatter count: every input value through every tap.
        return int(np.prod(t[op["inputs"][0]]["dims"])) * p["kernel_h"] * p["kernel_w"] * out["dims"][3]
    if name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return out_elems * p["filter_h"] * p["filter_w"]
    if name in ("ADD", "MUL"):
        return out_elems
    return 0


def plan_view(info, untiled=False, per_step=False):
    """Lifetimes per arena tensor and the lower bound for the blob's order
    (with per_step, also the bytes live at each op). untiled: as if every
    tensor were whole in the arena, model inputs too, and no op a stage (the
    plan's tensor-level view)."""
    from .planner import align

    n = len(info.ops)
    life = {}
    for i in info.inputs:
        life[i] = [0, 0]
    for s, op in enumerate(info.ops):
        if untiled and op["name"] == "STAGE":
            continue  # its members read and write the same tensors, whole
        for i in op["inputs"]:
            if not info.tensors[i]["const"]:
                life.setdefault(i, [s, s])[1] = s
        for o in op["outputs"]:
            life.setdefault(o, [s, s])
    for o in info.outputs:
        life.setdefault(o, [0, 0])[1] = max(n - 1, 0)
    # A stage's tensors and its members' scratch are all live while it runs.
    scratch_at = [op["scratch"] for op in info.ops]
    for s, op in enumerate(info.ops):
        if op["name"] == "STAGE" and not untiled:
            span = range(s, s + 1 + op["params"]["member_count"])
            for j in span:
                for i in info.ops[j]["inputs"] + info.ops[j]["outputs"]:
                    if i in life:
                        life[i] = [min(life[i][0], s), max(life[i][1], span[-1])]
            shared = [info.ops[j]["scratch"] for j in span if info.ops[j]["scratch"]]
            for j in span:
                scratch_at[j] = max(shared, key=lambda r: r[1]) if shared else None
    size = "nbytes" if untiled else "arena_bytes"
    life = {i: v for i, v in life.items() if info.tensors[i][size] and not info.tensors[i]["const"]}
    steps = []
    for s in range(max(n, 1)):
        # By region: an in-place op's input and output are one; a tensor the
        # plan has no whole region for (untiled view) is its own.
        regions = {((t["offset"], t["arena_bytes"]) if t["arena_bytes"] == t["nbytes"] else i): align(t[size])
                   for i, (lo, hi) in life.items() if lo <= s <= hi for t in (info.tensors[i],)}
        # An op's scratch is live while it runs.
        if s < n and scratch_at[s]:
            regions["scratch"] = align(scratch_at[s][1])
        steps.append(sum(regions.values()))
    bound = max(steps)
    life = {i: tuple(v) for i, v in life.items()}
    return (life, bound, steps) if per_step else (life, bound)


def inspect_dict(data, info) -> dict:
    from .blob import DATA_FIELDS

    layers = []
    for op in info.ops:
        hidden = DATA_FIELDS.get(op["name"], ()) + ("reserved",)
        params = {k: v for k, v in op["params"].items() if k not in hidden}
        layers.append(dict(
            index=op["index"], op=op["name"],
            inputs=[info.tensors[i]["shape"] for i in op["inputs"]],
            outputs=[info.tensors[i]["shape"] for i in op["outputs"]],
            params=params, macs=op_macs(info, op),
            arena=[{"tensor": i, "offset": info.tensors[i]["offset"], "size": info.tensors[i]["arena_bytes"],
                    "band": info.tensors[i]["placement"] == "band"}
                   for i in op["outputs"]],
            stage=op.get("stage"),
            scratch=None if not op["scratch"] else {"offset": op["scratch"][0], "size": op["scratch"][1]}))
    _, bound, live = plan_view(info, per_step=True)
    _, bound_untiled, live_untiled = plan_view(info, untiled=True, per_step=True)
    for layer, now, whole in zip(layers, live, live_untiled):
        layer["live_bytes"], layer["live_bytes_untiled"] = now, whole
    const_bytes = len(info.data)
    stages = [dict(op=op["index"], members=list(range(op["index"] + 1, op["index"] + 1 + op["params"]["member_count"])),
                   band_rows=op["params"]["band_rows"],
                   bands=[{"tensor": t, "rows": info.tensors[t]["arena_bytes"] // max(1, info.tensors[t]["nbytes"]
                                                                                       // info.tensors[t]["dims"][1]),
                           "of_rows": info.tensors[t]["dims"][1], "bytes": info.tensors[t]["arena_bytes"]}
                          for j in range(op["index"] + 1, op["index"] + op["params"]["member_count"])
                          for t in info.ops[j]["outputs"]])
              for op in info.ops if op["name"] == "STAGE"]
    in_place = [k for k, i in enumerate(info.inputs) if info.tensors[i]["placement"] == "external"]
    plan = "; ".join([f"input {k} read in place from the caller's buffer" for k in in_place]
                     + [f"ops {st['members'][0]}..{st['members'][-1]} tiled, {st['band_rows']} row(s) per call, bands "
                        + ", ".join(f"t{b['tensor']} {b['rows']}/{b['of_rows']} rows" for b in st["bands"])
                        for st in stages]) or "untiled"
    return dict(
        plan=plan, stages=stages, inputs_in_place=in_place, arena_lower_bound_untiled=bound_untiled,
        name=info.meta.get("name"), blob_bytes=len(data), arena_bytes=info.header["arena_size"],
        arena_lower_bound=bound, constant_bytes=const_bytes,
        macs=sum(layer["macs"] for layer in layers),
        inputs=[{"shape": info.tensors[i]["shape"], "dtype": _DTYPE_NAMES[info.tensors[i]["dtype"]],
                 "scale": info.tensors[i]["scale"], "zero_point": info.tensors[i]["zero_point"]}
                for i in info.inputs],
        outputs=[{"shape": info.tensors[i]["shape"], "dtype": _DTYPE_NAMES[info.tensors[i]["dtype"]],
                  "scale": info.tensors[i]["scale"], "zero_point": info.tensors[i]["zero_point"]}
                 for i in info.outputs],
        labels=info.meta.get("labels"), converter=info.meta.get("converter"),
        layers=layers)


def _fmt_shape(shapes):
    return ",".join("x".join(map(str, s)) for s in shapes)


def plot_plan(info, path, model_name: str = "") -> None:
    """Tensor lifetimes (x: op step) against arena offsets (y): one labelled
    box per arena tensor, the arena size and the planner's lower bound."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle
    except ImportError:
        raise UsageError("--plot needs matplotlib (pip install matplotlib)") from None
    life, bound = plan_view(info)
    fig, ax = plt.subplots(figsize=(8, 5))
    cmap = plt.get_cmap("tab20")
    for k, (i, (lo, hi)) in enumerate(sorted(life.items())):
        t = info.tensors[i]
        band = t["placement"] == "band"
        ax.add_patch(Rectangle((lo - 0.4, t["offset"]), hi - lo + 0.8, t["arena_bytes"],
                               facecolor=cmap(k % 20), edgecolor="black", alpha=0.7, hatch="//" if band else None))
        ax.text(lo - 0.35, t["offset"] + t["arena_bytes"] / 2,
                f"t{i} ({t['arena_bytes']} B{' band' if band else ''})", fontsize=7, va="center")
    n = max(len(info.ops), 1)
    arena = info.header["arena_size"]
    ax.axhline(arena, color="red", linestyle="--", label=f"arena {arena} B")
    ax.axhline(bound, color="green", linestyle=":", label=f"lower bound {bound} B")
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(0, max(arena, 1) * 1.08)
    ax.set_xticks(range(n))
    ax.set_xticklabels([op["name"] for op in info.ops], rotation=60, ha="right", fontsize=7)
    ax.set_xlabel("op step")
    ax.set_ylabel("arena offset (bytes)")
    ax.set_title(f"arena plan: {info.meta.get('name') or model_name}")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def cmd_inspect(a) -> int:
    data, info = _read(a.model)
    d = inspect_dict(data, info)
    if a.ops_header:
        from . import ops_header

        kept = ops_header.write(a.ops_header, {op["name"] for op in info.ops})
        print(f"{a.ops_header}: a firmware with {len(kept)} of {len(ops_header.L.OPCODES)} ops: "
              f"{', '.join(sorted(kept))}", file=sys.stderr)
    if a.plot:
        plot_plan(info, a.plot, Path(a.model).name)
    if a.json:
        print(json.dumps(d, indent=2))
        return EXIT_OK
    print(f"model {d['name'] or '?'}  ({d['converter'] or 'unknown converter'})")
    if d["stages"] or d["inputs_in_place"]:
        print(f"plan: {d['plan']}")
    print(f"{'#':>3} {'op':<18} {'in':<22} {'out':<14} {'MACs':>9} {'offset':>7} {'size':>6} {'live':>7} "
          f"{'untiled':>7}  params")
    for layer in d["layers"]:
        params = " ".join(f"{k}={v}" for k, v in layer["params"].items())
        ar = layer["arena"][0] if layer["arena"] else {"offset": "", "size": ""}
        scratch = f" scratch={layer['scratch']['size']}@{layer['scratch']['offset']}" if layer["scratch"] else ""
        op = layer["op"] if layer["stage"] is None else "  " + layer["op"]
        print(f"{layer['index']:>3} {op:<18} {_fmt_shape(layer['inputs']):<22} "
              f"{_fmt_shape(layer['outputs']):<14} {layer['macs']:>9} {ar['offset']:>7} "
              f"{ar['size']:>6} {layer['live_bytes']:>7} {layer['live_bytes_untiled']:>7}  {params}{scratch}")
    print(f"blob (flash) {d['blob_bytes']} bytes, of which constants {d['constant_bytes']}")
    print(f"arena (RAM)  {d['arena_bytes']} bytes, lower bound {d['arena_lower_bound']} bytes")
    if d["stages"] or d["inputs_in_place"]:
        print(f"untiled      lower bound {d['arena_lower_bound_untiled']} bytes with every tensor whole "
              "and the inputs in the arena")
    print(f"MACs         {d['macs']}")
    for k, io in enumerate(d["inputs"]):
        print(f"input {k}: {io['shape']} {io['dtype']} scale={io['scale']:.6g} zero_point={io['zero_point']}")
    for k, io in enumerate(d["outputs"]):
        what = " (embedding: Model.embed())" if info.meta.get("embedding") == k else ""
        print(f"output {k}: {io['shape']} {io['dtype']} scale={io['scale']:.6g} zero_point={io['zero_point']}{what}")
    if d["labels"]:
        print(f"labels: {', '.join(d['labels'])}")
    if a.plot:
        print(f"plan picture written to {a.plot}")
    return EXIT_OK


# ---------------------------------------------------------------------------
# check

def firmware_loader_refusal(data: bytes) -> str | None:
    """Why the firmware's own loader (tml_model_open and tml_model_load, run
    here through the host build of the same C) refuses the blob, or None when
    it accepts it. The Python reader checks the layout; only the C validator
    knows every rule the kernels rely on."""
    from .errors import ModelRefused
    from .host_runtime import HostModel

    try:
        HostModel(data)
    except ModelRefused as e:
        return str(e)
    return None


def cmd_check(a) -> int:
    from .boards import BOARDS, RUNTIME_OVERHEAD, model_ram, model_state, placement

    data, info = _read(a.model)
    try:
        refusal = firmware_loader_refusal(data)
    except CoreUnavailable as exc:
        refusal = None
        print(f"tinyml: note: the C loader is not available here, so only the layout was "
              f"checked ({' '.join(str(exc).split())[:200]})", file=sys.stderr)
    if refusal:
        raise UsageError(f"{a.model}: the firmware would refuse this blob: {refusal}")
    arena = info.header["arena_size"]
    state = model_state(info)
    in_place, from_file = model_ram(info, len(data))
    print(f"blob OK: magic, format version {info.header['version']}, CRC-32 "
          f"{info.header['crc32']:08x}, {len(data)} bytes")
    print(f"RAM needed: arena {arena} + tensor and op tables {state} + runtime overhead {RUNTIME_OVERHEAD} "
          f"= {in_place} bytes with the blob in place (a ROMFS file, or frozen); {from_file} when "
          f"the blob is read from a file")
    for k, i in enumerate(info.inputs):
        if info.tensors[i]["placement"] == "external":
            print(f"input {k} is read in place from the buffer given to invoke() ({info.tensors[i]['nbytes']} "
                  "bytes, not in the arena; predict() allocates it once)")
    print(f"{'board':<9} {'ROMFS':>8} {'filesystem':>10} {'heap':>8}  {'model in':<10} {'RAM':>8}  "
          f"{'verdict':<7} note")
    verdict = EXIT_OK
    for name, b in BOARDS.items():
        where, ram = placement(b, arena, len(data), state)
        room = b.romfs if where == "romfs" else b.flash_for_models
        fits = len(data) <= room and ram <= b.heap
        mark = "*" if name == a.board else " "
        print(f"{mark}{name:<8} {b.romfs:>8} {b.flash_for_models:>10} {b.heap:>8}  {where:<10} {ram:>8}  "
              f"{'fits' if fits else 'NO':<7} {b.note}")
        if name == a.board:
            chosen = (b, where, ram, room, fits)
    if any(op["name"] == "FULLY_CONNECTED_W16" for op in info.ops):
        dsp = ", ".join(n for n, b in BOARDS.items() if b.dsp)
        print(f"FULLY_CONNECTED weights pre-widened (--fc-weights int16): about 0.65x the instructions of "
              f"those layers on a Cortex-M core with DSP ({dsp}); on other cores little gain or a loss (measured "
              "in qemu: RISC-V 0.9x, Cortex-M3 1.5x, the RP2040's Cortex-M0+ 2x): convert without it for those")
        if a.board and not BOARDS[a.board].dsp:
            print(f"{a.board}: its core gains nothing from --fc-weights int16; the int8 weights run faster "
                  "and take half the flash")
    if any(op["name"] == "FULLY_CONNECTED_PAIRS" for op in info.ops):
        smlal = ", ".join(n for n, b in BOARDS.items() if b.smlal)
        print(f"FULLY_CONNECTED weights in pairs of rows (--fc-weights pairs): about 0.5x the instructions of "
              f"those layers on a Cortex-M3 and 0.75x on a Cortex-M4/M33 ({smlal}; int16 is faster there); "
              "on other cores a loss (measured in qemu: the RP2040's Cortex-M0+ 3x, RISC-V 2x): convert "
              "without it for those")
        if a.board and not BOARDS[a.board].smlal:
            print(f"{a.board}: its core loses with --fc-weights pairs; the int8 weights run faster "
                  "and take half the flash")
    if a.board:
        b, where, ram, room, fits = chosen
        how = "in place from ROMFS" if where == "romfs" else "read from the filesystem"
        sizes = f"flash {len(data)}/{room}, RAM {ram}/{b.heap}"
        if fits:
            print(f"{a.board}: fits, {how} ({sizes})")
        else:
            verdict = EXIT_NO_FIT
            print(f"{a.board}: does NOT fit, even {how} ({sizes})")
    return verdict


# ---------------------------------------------------------------------------
# run

_DTYPE_NAMES = {bl.DTYPE_INT8: "int8", bl.DTYPE_INT16: "int16", bl.DTYPE_INT32: "int32",
                bl.DTYPE_FLOAT32: "float32", bl.DTYPE_BOOL: "bool"}


def _prepare_input(x: np.ndarray, t) -> np.ndarray:
    n = int(np.prod(t["dims"]))
    if x.size != n:
        raise UsageError(f"input has {x.size} elements, the model expects {n} ({t['shape']})")
    raw = np.dtype("<i2") if t["dtype"] == bl.DTYPE_INT16 else np.dtype(np.int8)
    if x.dtype == raw:
        return x.reshape(t["shape"])
    if np.issubdtype(x.dtype, np.floating):
        try:
            return quantize(x, t["scale"], t["zero_point"], dtype=raw.name).reshape(t["shape"])
        except ValueError as exc:
            raise UsageError(f"input: {exc}") from None
    raise UsageError(f"input dtype {x.dtype}: give {raw.name} (raw) or float (quantised here)")


def _run_unix(model_path, x: np.ndarray, micropython: str) -> bytes:
    mp = Path(micropython)
    with tempfile.TemporaryDirectory() as d:
        inp, outp, script = Path(d) / "in.bin", Path(d) / "out.bin", Path(d) / "run.py"
        inp.write_bytes(x.tobytes())
        script.write_text(
            "import tinyml\n"
            f"m = tinyml.load({str(Path(model_path).resolve())!r})\n"
            f"with open({str(inp)!r}, 'rb') as f:\n    x = f.read()\n"
            "y = m.invoke(x)\n"
            f"with open({str(outp)!r}, 'wb') as f:\n    f.write(y)\n")
        res = subprocess.run([str(mp), str(script)], capture_output=True, text=True, timeout=120)
        if res.returncode != 0 or not outp.exists():
            tail = (res.stderr or res.stdout).strip().splitlines()
            raise BoardError(f"micropython failed: {tail[-1] if tail else res.returncode}")
        return outp.read_bytes()


def _run_qemu(board: str, model_path, x: np.ndarray, firmware):
    """Boot the board's firmware under QEMU with a ROMFS image holding the
    model, and the input, preloaded into board memory (no filesystem, no
    slow serial upload); mount the image at /rom as a board with ROMFS does,
    load the model from it in place, run one invoke through the raw REPL on
    the emulated UART, and read the output back. Returns (output bytes,
    heap bytes the model took: load and invoke, after a collection)."""
    from .boards import BOARDS, qemu_command
    from .romfs import image_of, model_entry

    fw = Path(firmware)
    name, blob = model_entry(model_path, Path(model_path).read_bytes())
    image = image_of([(name, blob)])
    x_offset = (len(image) + 7) & ~7
    payload = image + bytes(x_offset - len(image)) + x.tobytes()
    b = BOARDS[board]
    if b.preload_base + len(payload) > b.preload_limit:
        raise UsageError(f"{board}: model and input take {len(payload)} bytes, the board has room "
                         f"for {b.preload_limit - b.preload_base}")
    # The reset exits QEMU (semihosting) whatever happened before it: a
    # model the firmware refuses must not leave the board waiting.
    script = (
        "import binascii, gc, machine, uctypes, vfs, tinyml\n"
        "try:\n"
        f"    vfs.mount(vfs.VfsRom(uctypes.bytearray_at({b.preload_base:#x}, {len(image)})), '/rom')\n"
        f"    x = uctypes.bytearray_at({b.preload_base + x_offset:#x}, {x.size})\n"
        "    gc.collect()\n"
        "    free = gc.mem_free()\n"
        f"    m = tinyml.load('/rom/{name}')\n"
        "    y = m.invoke(x)\n"
        "    gc.collect()\n"
        "    print('TINYML_OUT', binascii.hexlify(y).decode(), m.in_place, free - gc.mem_free())\n"
        "except Exception as e:\n"
        "    print('TINYML_ERR', type(e).__name__, e)\n"
        "machine.reset()\n"
    )
    with tempfile.TemporaryDirectory() as d:
        data = Path(d) / "model_and_input.bin"
        data.write_bytes(payload)
        cmd = qemu_command(board, fw, [(data, b.preload_base)])
        cmd = cmd[:-2] + ["-serial", "stdio"] + cmd[-2:]
        # Ctrl-A: raw REPL; the script; Ctrl-D: run it. QEMU only feeds the
        # UART as fast as the guest reads, so nothing is dropped.
        try:
            res = subprocess.run(cmd, input=b"\x01" + script.encode() + b"\x04",
                                 capture_output=True, timeout=600)
        except FileNotFoundError:
            package = "qemu-system-misc" if b.qemu_system == "qemu-system-riscv32" else "qemu-system-arm"
            raise MissingTool(f"{b.qemu_system} not found (Debian package {package})") from None
        except subprocess.TimeoutExpired:
            raise BoardError(f"{board}: no answer from the emulated board within 600 s") from None
    out = res.stdout.decode(errors="replace")
    found = re.search(r"TINYML_OUT ([0-9a-f]*) (True|False) (-?\d+)", out)
    if found:
        if found.group(2) != "True":
            raise BoardError(f"{board}: the model was copied to RAM instead of used in place from ROMFS")
        return bytes.fromhex(found.group(1)), int(found.group(3))
    failed = re.search(r"TINYML_ERR (.*)", out)
    if failed:
        raise BoardError(f"{board}: {failed.group(1).strip()}")
    tail = [ln for ln in out.replace("\x04", "\n").splitlines() if ln.strip()][-3:]
    raise BoardError(f"{board}: the board did not run the model: {' | '.join(tail) or res.stderr.decode()[-200:]}")


def _is_serial_port(target: str) -> bool:
    return target.startswith("/dev/") or target.upper().startswith("COM")


def _run_serial(port: str, model_path, x: np.ndarray) -> bytes:
    """A real board (or an emulated one on a pty): copy the model (verified,
    renamed into place) and invoke it once."""
    from .deploy import run_on_board

    return run_on_board(port, model_path, x.tobytes())


def _wait_for_prompt(port: str, timeout: float = 60.0) -> None:
    """rp2040py opens the pty before the firmware boots, and sends a newline
    of its own once the USB enumerates: a client that starts talking earlier
    can find that newline in the middle of its raw REPL session. Wait for the
    prompt it brings, and for the board to fall quiet after it."""
    import serial

    with serial.Serial(port, timeout=0.25) as link:
        seen = b""
        deadline = time.monotonic() + timeout
        nudge_at = time.monotonic() + 5
        while time.monotonic() < deadline:
            chunk = link.read(256)
            seen = (seen + chunk)[-4:]
            if not chunk and seen.endswith(b">>> "):
                return
            if not seen and time.monotonic() > nudge_at:
                link.write(b"\r")  # the prompt came before the port was open (opening flushes it)
                nudge_at = deadline
    raise BoardError(f"the emulated Pico gave no REPL prompt within {timeout:.0f} s")


@contextlib.contextmanager
def emulated_pico(firmware):
    """Boot a UF2 file in rp2040py (PyPI) and yield its serial pty: our
    rpi_pico firmware, or a file holding it and a ROMFS image
    (flash.board_uf2), which the emulator writes to flash as the boot ROM
    would."""
    fw = Path(firmware)
    exe = Path(sys.executable).parent / "rp2040py"
    if not exe.exists():
        raise MissingTool("rp2040py is not installed in this Python environment "
                          "(pip install 'tinyml_converter[emulator]')")
    proc = subprocess.Popen([str(exe), "micropython", "--image", str(fw), "--pty"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        port = None
        for line in proc.stdout:
            found = re.search(r"(/dev/pts/\d+)", line)
            if found:
                port = found.group(1)
                break
        if port is None:
            raise BoardError("rp2040py did not start the emulated Pico")
        _wait_for_prompt(port)
        yield port
    finally:
        proc.kill()
        proc.wait()


# The longest the emulated Pico may stay silent while it invokes a model: it
# runs a few million instructions a second, so a MobileNet takes minutes.
PICO_INVOKE_TIMEOUT = 1800

# Run on the board: one invoke, with the heap free before the load and after
# the invoke, each after a collection, so that the difference is what the
# model and its output hold (the input is allocated before the first count).
_PICO_INVOKE = """\
import binascii, gc, tinyml
x = {x!r}
gc.collect()
free = gc.mem_free()
m = tinyml.load({path!r})
y = m.invoke(x)
gc.collect()
print('TINYML', m.in_place, free, gc.mem_free(), binascii.hexlify(y).decode())
m.close()
"""


def _run_pico(model_path, data: bytes, info, x: np.ndarray, firmware, rom: bool = False) -> tuple:
    """One invoke on the emulated Pico: (output bytes, heap bytes the model
    took, where it ran). A model that read from a file would not fit the
    Pico's heap (or any, with `rom`) goes into ROMFS, written with the
    firmware into the flash the emulator boots, and runs from there in
    place; any other is copied to the filesystem over the serial link, as
    `tinyml deploy` does."""
    from .board import Board
    from .boards import BOARDS, model_ram
    from .deploy import copy_files
    from .flash import board_uf2, rom_image
    from .romfs import model_entry

    _, from_file = model_ram(info, len(data))
    in_rom = rom or from_file > BOARDS["rpi_pico"].heap
    with tempfile.TemporaryDirectory() as d:
        image, board_path = Path(firmware), None
        if in_rom:
            name, _ = entry = model_entry(model_path, data)
            image = Path(d) / "firmware-and-romfs.uf2"
            image.write_bytes(board_uf2("rpi_pico", firmware=firmware,
                                        romfs_image=rom_image("rpi_pico", [entry])))
            board_path = "/rom/" + name
        with emulated_pico(image) as port, Board(port) as board:
            if board_path is None:
                (board_path,) = copy_files(board, [Path(model_path)])
            out = board.exec(_PICO_INVOKE.format(x=x.tobytes(), path=board_path), timeout=PICO_INVOKE_TIMEOUT)
    found = re.search(r"TINYML (True|False) (\d+) (\d+) ([0-9a-f]*)", out)
    if not found:
        raise BoardError(f"rpi_pico: the board did not run the model: {out.strip()[-200:]}")
    in_place, before, after = found.group(1) == "True", int(found.group(2)), int(found.group(3))
    if in_rom and not in_place:
        raise BoardError(f"rpi_pico: {board_path} was copied into RAM instead of used in place; "
                         "the ROMFS image does not hold the model on a 4-byte boundary")
    where = f"in place from {board_path}" if in_place else f"from {board_path}, copied into RAM"
    return bytes.fromhex(found.group(4)), before - after, where


def cmd_deploy(a) -> int:
    from .board import ConnectionLost
    from .deploy import deploy, deploy_rom

    files = [a.model, *a.files]
    if a.rom and a.dest != "/":
        raise UsageError("--dest does not apply to --rom: ROMFS is mounted at /rom")
    try:
        with _progress_bars("B", quiet=a.no_progress) as progress:
            if a.rom:
                written = deploy_rom(a.port, files, progress=progress)
            else:
                written = deploy(a.port, files, dest=a.dest, progress=progress)
    except OSError as exc:  # a local file; the board's link failing is ConnectionLost
        raise UsageError(str(exc)) from None
    except ConnectionLost as exc:
        kept = ("ROMFS is switched only once the whole image is on the board and verified"
                if a.rom else "files already on the board are untouched")
        raise BoardError(f"{exc}; {kept}, run deploy again") from None
    for path in written:
        print(f"{path}: written and verified" + (" (in ROMFS: models run in place)" if a.rom else ""))
    return EXIT_OK


def cmd_record(a) -> int:
    from .board import Board
    from .record import DEFAULT_RATE, RecordError, record

    def ints(text, n, what):
        try:
            vals = [int(v) for v in text.split(",")]
        except ValueError:
            vals = []
        if len(vals) != n:
            raise UsageError(f"--{what} {text!r}: expected {n} comma-separated numbers")
        return vals

    pins = dict(range_g=a.range_g, pin=a.adc_pin)
    if a.i2c:
        pins.update(zip(("bus", "scl", "sda"), ints(a.i2c, 3, "i2c")))
    if a.i2s:
        pins.update(zip(("bus", "sck", "ws", "sd"), ints(a.i2s, 4, "i2s")))
    out = Path(a.output)
    if out.exists() and not out.is_dir():
        raise UsageError(f"-o {out}: not a folder")
    requested = a.rate or DEFAULT_RATE[a.sensor]
    rec = None
    try:
        with Board(a.port) as board, _progress_bars("window", quiet=a.no_progress) as progress:
            try:
                rec = record(board, a.sensor, a.label, out, seconds=a.seconds, rate=a.rate, window=a.window,
                             fake=a.fake_sensor, progress=functools.partial(progress, a.label), **pins)
            except KeyboardInterrupt as exc:
                rec = getattr(exc, "recording", None)
                kept = len(rec.written) if rec else 0
                _err(f"interrupted: kept the {kept} whole window(s) already written in {out}")
                return 130
    except (ValueError, RecordError) as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:  # the output folder; the board's link failing is a BoardError
        raise UsageError(f"cannot write to {out}: {exc.strerror or exc}") from None
    for warning in rec.warnings(requested):
        print(f"tinyml: WARNING: {warning}", file=sys.stderr)
    rate = f", {rec.measured:.1f} Hz by the board's clock" if rec.measured else ""
    names = f"{rec.written[0].name} .. {rec.written[-1].name}" if rec.written else "nothing"
    print(f"wrote {len(rec.written)} window(s) to {out}: {names}{rate}")
    return EXIT_OK


def cmd_flash(a) -> int:
    from .flash import flash, flash_rom

    if a.rom:
        if a.erase or a.port:
            raise UsageError("--rom writes a ROMFS image (to the RPI-RP2 drive or -o): --erase and "
                             "--port do not apply")
        flash_rom(a.board, a.rom, firmware=a.firmware, drive=a.drive, output=a.output, dry_run=a.dry_run)
    elif a.output:
        raise UsageError("-o/--output saves the ROMFS image that --rom makes: give --rom FILE ...")
    else:
        flash(a.board, port=a.port, firmware=a.firmware, drive=a.drive, erase=a.erase, dry_run=a.dry_run)
    return EXIT_OK


def cmd_run(a) -> int:
    if a.rom and a.target != "rpi_pico":
        raise UsageError("--rom applies to --target rpi_pico (the emulated Pico) only")
    data, info = _read(a.model)
    if len(info.inputs) != 1 or len(info.outputs) != 1:
        raise UsageError("run supports single-input, single-output models for now")
    try:
        x = np.load(a.input, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:  # EOFError: an empty file
        raise UsageError(f"cannot read input {a.input}: {exc}") from None
    tin, tout = info.tensors[info.inputs[0]], info.tensors[info.outputs[0]]
    if tin["dtype"] == bl.DTYPE_FLOAT32:
        if x.size != int(np.prod(tin["dims"])):
            raise UsageError(f"input has {x.size} elements, the model expects {tin['shape']}")
        xq = np.ascontiguousarray(x, dtype="<f4").reshape(tin["shape"])
    else:
        xq = _prepare_input(x, tin)
    # ARG_MAX / ARG_MIN indices come out as int32, scikit-learn models' outputs
    # as float32, 16x8 models' as int16, every other output as int8.
    dtype = {bl.DTYPE_INT32: np.dtype("<i4"), bl.DTYPE_FLOAT32: np.dtype("<f4"),
             bl.DTYPE_INT16: np.dtype("<i2")}.get(tout["dtype"], np.dtype(np.int8))
    if a.target == "host":
        from .host_runtime import HostModel

        (y,) = HostModel(data).invoke(xq)
        y = np.asarray(y, dtype=dtype).reshape(tout["shape"])
    elif a.target == "unix":
        raw = _run_unix(a.model, xq, unix_micropython(a.micropython))
        y = np.frombuffer(raw, dtype=dtype).reshape(tout["shape"])
    elif a.target in QEMU_TARGETS:
        raw, ram = _run_qemu(a.target, a.model, xq, firmware_path(a.target, a.firmware))
        if a.ram:
            print(f"board RAM taken by the model: {ram} bytes (arena {info.header['arena_size']})")
        y = np.frombuffer(raw, dtype=dtype).reshape(tout["shape"])
    elif a.target == "rpi_pico":
        raw, ram, where = _run_pico(a.model, data, info, xq, firmware_path("rpi_pico", a.firmware), rom=a.rom)
        if a.ram:
            print(f"board RAM taken by the model: {ram} bytes (arena {info.header['arena_size']}); "
                  f"it ran {where}")
        y = np.frombuffer(raw, dtype=dtype).reshape(tout["shape"])
    elif _is_serial_port(a.target):
        raw = _run_serial(a.target, a.model, xq)
        y = np.frombuffer(raw, dtype=dtype).reshape(tout["shape"])
    else:
        raise UsageError(f"target {a.target!r} is not supported (supported: host, unix, "
                         f"{', '.join(QEMU_TARGETS)}, rpi_pico (emulated), or a serial port "
                         "such as /dev/ttyACM0 or COM3)")
    if a.output:
        np.save(a.output, y)
    if dtype == np.float32:
        print("output (float32):", np.array2string(y.reshape(-1), max_line_width=120))
        labels = info.meta.get("labels")
        if labels and len(labels) == y.size:
            print(f"top: {labels[int(np.argmax(y))]}")
        return EXIT_OK
    if dtype == np.int32:
        print("output (int32 indices):", np.array2string(y.reshape(-1), max_line_width=120))
        return EXIT_OK
    deq = dequantize(y, tout["scale"], tout["zero_point"])
    print(f"output ({dtype.name}):", np.array2string(y.reshape(-1), max_line_width=120))
    print("output (dequantised):", np.array2string(deq.reshape(-1), precision=4, max_line_width=120))
    labels = info.meta.get("labels")
    if labels and len(labels) == y.size:
        print(f"top: {labels[int(np.argmax(y))]}")
    return EXIT_OK


# ---------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    from .boards import BOARDS

    p = argparse.ArgumentParser(prog="tinyml", description="tinyml model converter and tools")
    p.add_argument("--version", action="version", version=f"tinyml_converter {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("convert", help="convert a Keras / SavedModel / int8 .tflite / scikit-learn model")
    c.add_argument("model", help=".keras, .h5, SavedModel folder, int8 or 16x8 .tflite, or a fitted scikit-learn "
                                 "estimator in .joblib, .pkl or .skops")
    c.add_argument("-o", "--output", help="output .tinyml (default: next to the model)")
    c.add_argument("--calib", help="calibration samples: X.npy (N, *input_shape) or a folder of .npy")
    c.add_argument("--random-calib", action="store_true", help="calibrate on random data (smoke tests only)")
    c.add_argument("--labels", help="text file, one class label per line")
    c.add_argument("--name", help="model name stored in the blob")
    c.add_argument("--normalize", metavar="MEAN,...:STD,...",
                   help="per-channel input normalisation stored in the blob, read on the board by "
                        "tinyml.pipeline.Normalize.from_model (e.g. 0,0,1:0.5,0.5,0.5)")
    c.add_argument("--keep-tflite", action="store_true", help="also write the quantised .tflite")
    c.add_argument("--int16", action="store_true",
                   help="quantise 16x8 (int16 activations, int8 weights; TFLite's "
                        "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8): finer "
                        "activations for audio and regression, twice the activation RAM"),
    c.add_argument("--embedding", metavar="LAYER",
                   help="also keep this layer's output (a Keras layer name; for a .tflite, a tensor "
                        "name) for Model.embed() on the board, e.g. to learn new classes with "
                        "tinyml.learn")
    c.add_argument("--ram-budget", metavar="BYTES", type=_ram_budget,
                   help="plan an arena of at most BYTES: read the input in place from the caller's "
                        "buffer, then run the first layers tiled (bands of rows) as needed, choosing the "
                        "plan with the fewest extra instructions; fails, writing nothing, if none fits. "
                        "'min': the smallest arena tinyml can plan")
    c.add_argument("--fc-weights", choices=("int8", "int16", "pairs"), default="int8",
                   help="int16: store FULLY_CONNECTED weights pre-widened in the order the Cortex-M4/M7/M33 "
                        "inner loop reads them (RP2350): about 0.65x the instructions of those layers there, "
                        "twice their weight bytes in flash, the same outputs; slower on the RP2040 and "
                        "Cortex-M3, about the same on RISC-V. pairs: two rows' weights in each word, for "
                        "the Cortex-M3's SMLAL: about 0.5x there, 0.75x on M4/M33, twice the flash too; "
                        "slower on the RP2040 and RISC-V (`tinyml check` says so) (default int8)")
    c.add_argument("-v", "--verbose", action="store_true", help="show TensorFlow's own output")
    c.add_argument("--no-progress", action="store_true", help="no progress bar while calibrating")
    c.set_defaults(fn=cmd_convert)

    i = sub.add_parser("inspect", help="per-layer table, totals and arena plan")
    i.add_argument("model")
    i.add_argument("--json", action="store_true")
    i.add_argument("--plot", metavar="PNG", help="draw the arena plan (needs matplotlib)")
    i.add_argument("--ops-header", metavar="H",
                   help="write (or add this model's ops to) the C header that builds a firmware with only "
                        "the ops its models use (TINYML_OPS_HEADER=H)")
    i.set_defaults(fn=cmd_inspect)

    k = sub.add_parser("check", help="validate a blob and check it fits a board")
    k.add_argument("model")
    k.add_argument("--board", choices=sorted(BOARDS))
    k.set_defaults(fn=cmd_check)

    r = sub.add_parser("run", help="run a model on an input")
    r.add_argument("model")
    r.add_argument("--input", required=True, help=".npy, int8 (int16 for a 16x8 model) raw, or float (quantised here)")
    r.add_argument("--output", help="save the raw output as .npy")
    r.add_argument("--target", default="host",
                   help="host (C core via ctypes), unix (MicroPython unix port), an emulated "
                        f"board: {', '.join(QEMU_TARGETS)}, rpi_pico (a model too large for its "
                        "RAM from a file runs from ROMFS), or a serial port")
    r.add_argument("--ram", action="store_true",
                   help="qemu targets and rpi_pico: print the heap the model took on the board "
                        "(load and invoke)")
    r.add_argument("--micropython", help="the unix micropython binary (default: $TINYML_MICROPYTHON, "
                                         "else unix/micropython in the firmware folder)")
    r.add_argument("--firmware", help="firmware for a qemu or rpi_pico target (default: <board>/ in the "
                                      "firmware folder, $TINYML_FIRMWARE_DIR or ./build)")
    r.add_argument("--rom", action="store_true",
                   help="rpi_pico: run the model from ROMFS, in place, even when it would fit the RAM "
                        "read from a file (one that would not goes there anyway)")
    r.set_defaults(fn=cmd_run)

    d = sub.add_parser("deploy", help="copy a model (and scripts) to a board over its serial port")
    d.add_argument("model", help="the .tinyml file")
    d.add_argument("files", nargs="*", help="more files to copy (main.py, ...)")
    d.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyACM0 or COM3")
    d.add_argument("--dest", default="/", help="folder on the board (default /)")
    d.add_argument("--rom", action="store_true",
                   help="write the files as the board's ROMFS (/rom), replacing what it held: models "
                        "there run from flash in place, so only their arena takes RAM")
    d.add_argument("--no-progress", action="store_true", help="no progress bars")
    d.set_defaults(fn=cmd_deploy)

    from .record import DEFAULT_RATE, DEFAULT_WINDOW, SENSORS

    rc = sub.add_parser("record", help="record windows of a board's sensor to .npy files, for training "
                                       "and --calib")
    rc.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyACM0 or COM3")
    rc.add_argument("--sensor", required=True, choices=SENSORS)
    rc.add_argument("--label", required=True, help="class of what you record; files are <label>_<n>.npy")
    rc.add_argument("--seconds", type=float, default=10.0, help="how long to record (default 10)")
    rc.add_argument("-o", "--output", default="data", help="folder for the .npy files (default data/)")
    rc.add_argument("--rate", type=int, help="samples per second (default: "
                    + ", ".join(f"{s} {r}" for s, r in DEFAULT_RATE.items()) + ")")
    rc.add_argument("--window", type=int, help="samples per window and file (default: "
                    + ", ".join(f"{s} {w}" for s, w in DEFAULT_WINDOW.items()) + ")")
    rc.add_argument("--i2c", metavar="BUS,SCL,SDA", help="mpu6050: I2C bus and pins (default 0,1,0)")
    rc.add_argument("--range-g", type=int, default=2, choices=(2, 4, 8, 16), help="mpu6050: range in g")
    rc.add_argument("--adc-pin", type=int, default=26, help="adc: the ADC pin (default 26)")
    rc.add_argument("--i2s", metavar="BUS,SCK,WS,SD", help="i2s: bus and pins (default 0,16,17,18)")
    rc.add_argument("--fake-sensor", action="store_true",
                    help="simulate the sensor on the board (nothing wired): to try the tools out")
    rc.add_argument("--no-progress", action="store_true", help="no progress bar")
    rc.set_defaults(fn=cmd_record)

    f = sub.add_parser("flash", help="write tinyml firmware, or models in ROMFS (--rom), to a board")
    f.add_argument("--board", required=True, choices=["rpi_pico", "esp32", "esp32_s3", "esp32_c3"])
    f.add_argument("--port", help="serial port (esp32)")
    f.add_argument("--firmware", help="image to write (default build/<board>/firmware.uf2|.bin); with "
                                      "--rom, put this firmware in the same UF2")
    f.add_argument("--rom", nargs="+", metavar="FILE",
                   help="write these files (models, scripts) as the board's ROMFS (/rom), where models "
                        "run from flash in place; the firmware and the filesystem stay (rpi_pico: a "
                        "UF2 for the RPI-RP2 drive; any board: the bare image with -o NAME.romfs)")
    f.add_argument("-o", "--output", metavar="FILE",
                   help="with --rom: save the UF2 here instead of copying it to the RPI-RP2 drive; a "
                        "name ending .romfs or .img gets the bare image, for `mpremote romfs deploy`")
    f.add_argument("--drive", help="the RPI-RP2 drive (rpi_pico; found automatically if mounted)")
    f.add_argument("--erase", action="store_true", help="erase the whole flash first (esp32)")
    f.add_argument("--dry-run", action="store_true", help="say what would be done, do nothing")
    f.set_defaults(fn=cmd_flash)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    try:
        a = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_OK
    try:
        return a.fn(a)
    except TinymlError as exc:
        _err(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:  # the reader went away (`tinyml inspect m.tinyml | head`)
        sys.stderr.close()
        return EXIT_OK
    except MemoryError:
        _err("out of memory (is the model or an input file far larger than expected?)")
        return EXIT_INTERNAL
    except Exception as exc:  # noqa: BLE001 - last resort: one line, never a bare traceback
        _err(f"internal error: {type(exc).__name__}: {exc}. This is a bug in tinyml; "
             "please report it with the command and the input file")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
