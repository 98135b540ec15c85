#!/usr/bin/env python3
"""Generate the board sweep: random convolution shapes against TFLite, on
every board, into build/mpytest/sweep/.

The host suite's random families (tests/host/test_parity_ops.py) run on the
host build, which takes the portable or SSE2 paths. Each core has its own
convolution, depthwise and fully connected routines (Cortex-M0 and M3 quads,
M4 SMLAD, the pre-widened and paired FULLY_CONNECTED layouts), which only
the firmware runs. This sweep draws shapes that reach their edges: channel
counts around the 2- and 4-lane groups, windows longer than one prepared
piece (64 inputs on M0, 128 on M3), rows whose pixels do not fill a quad,
strides, dilations, both paddings, per-tensor and per-channel quantisation,
all three --fc-weights layouts, residual and broadcast ADD and SUB, 16x8
models (int16 activations), and some chains converted with --ram-budget
min, so tiled.

Most models are one random input feeding three random branches; the others
are a tiled chain, a residual block after a wide layer, or one 16x8 branch
(draw_model()). Each is written by gen_mpy_tests.write_model_test(): a blob
plus inputs, a script, and TFLite's reference-kernel output bytes as the
expected output. Quantised
.tflite files are cached under build/test-cache/ like the host suite's.

    scripts/gen_mpy_sweep.py [--models N] [--seed S]
    scripts/mpytest.py --dir build/mpytest/sweep unix qemu_m0 qemu_m3 qemu_m4 qemu_rv32
"""

import argparse
import contextlib
import io
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "converter"), str(ROOT / "scripts"), str(ROOT / "tests" / "host")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gen_mpy_tests  # noqa: E402

OUT = ROOT / "build" / "mpytest" / "sweep"
CHANNELS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 48)
# Bounds that keep all the models inside qemu_m0's 512 KB preload window,
# and each script's printed output short: run-tests.py gives up on a board
# that stays silent for 10 s, which the emulated nRF51's serial port does
# while it sends about 30 KB.
MAX_WEIGHTS = 12000
MAX_INPUTS = 1400
MAX_OUTPUTS = 1200
INVOKES = 2
ACTIVATIONS = (None, "relu", "relu6")


def _window(rng, in_h, in_w):
    """(kernel, strides, dilation, padding) with a non-empty output."""
    while True:
        if rng.random() < 0.3:
            kernel = (1, 1)
        elif rng.random() < 0.4:
            kernel = (3, 3)
        else:
            kernel = tuple(int(v) for v in rng.integers(1, 6, 2))
        dilation = (1, 1)
        if rng.random() < 0.2:
            dilation = tuple(int(v) for v in rng.integers(1, 4, 2))
        strides = (1, 1) if dilation != (1, 1) else tuple(int(v) for v in rng.choice([1, 1, 2, 3], 2))
        padding = str(rng.choice(["same", "valid"]))
        reach = ((kernel[0] - 1) * dilation[0] + 1, (kernel[1] - 1) * dilation[1] + 1)
        if padding == "same" or (in_h >= reach[0] and in_w >= reach[1]):
            out_h = -(-in_h // strides[0]) if padding == "same" else (in_h - reach[0]) // strides[0] + 1
            out_w = -(-in_w // strides[1]) if padding == "same" else (in_w - reach[1]) // strides[1] + 1
            return kernel, strides, dilation, padding, out_h * out_w


def _branch(rng, in_h, in_w, in_c):
    """(description, build(layers, x)) of one random layer (or residual) on an (in_h, in_w, in_c) input."""
    kind = rng.choice(["conv", "conv", "depthwise", "depthwise", "dense", "elementwise"],
                      p=[0.25, 0.2, 0.2, 0.1, 0.15, 0.1])
    activation = ACTIVATIONS[int(rng.integers(0, 3))]
    bias = bool(rng.random() < 0.8)
    if kind == "elementwise":
        # ADD or SUB of the input and a pointwise convolution of it (a
        # residual), or of the input and its per-channel mean (broadcast).
        op = str(rng.choice(["Add", "Subtract"]))
        broadcast = bool(rng.random() < 0.4)

        def build(L, x):
            other = (L.GlobalAveragePooling2D(keepdims=True)(x) if broadcast
                     else L.Conv2D(in_c, 1, activation=activation)(x))
            return getattr(L, op)()([x, other])
        return f"{op.lower()}_{'broadcast' if broadcast else 'residual'}", build
    if kind == "dense":
        inputs = in_h * in_w * in_c
        units = max(1, min(int(rng.integers(1, 41)), MAX_WEIGHTS // inputs))
        return (f"dense{units}_{activation}",
                lambda L, x: L.Dense(units, activation=activation, use_bias=bias)(L.Flatten()(x)))
    kernel, strides, dilation, padding, pixels = _window(rng, in_h, in_w)
    taps = kernel[0] * kernel[1]
    desc = f"k{kernel[0]}x{kernel[1]}_s{strides[0]}x{strides[1]}_d{dilation[0]}x{dilation[1]}_{padding}"
    if kind == "depthwise":
        mult = int(rng.choice([1, 1, 1, 2, 3]))
        while mult > 1 and pixels * in_c * mult > MAX_OUTPUTS:
            mult -= 1
        return (f"dw{desc}_m{mult}_{activation}",
                lambda L, x: L.DepthwiseConv2D(kernel, strides=strides, padding=padding, depth_multiplier=mult,
                                               dilation_rate=dilation, activation=activation,
                                               use_bias=bias)(x))
    filters = int(rng.integers(1, 41))
    filters = max(1, min(filters, MAX_WEIGHTS // (taps * in_c), MAX_OUTPUTS // pixels))
    return (f"conv{desc}_f{filters}_{activation}",
            lambda L, x: L.Conv2D(filters, kernel, strides=strides, padding=padding, dilation_rate=dilation,
                                  activation=activation, use_bias=bias)(x))


def _input_shape(rng):
    while True:
        in_h, in_w = (int(v) for v in rng.integers(1, 15, 2))
        in_c = int(rng.choice(CHANNELS))
        if in_h * in_w * in_c <= MAX_INPUTS:
            return in_h, in_w, in_c


def draw_model(rng, index):
    """A model's spec: name, input shape, its branches (or a tiled chain),
    per-tensor or not, --fc-weights layout and --ram-budget."""
    if rng.random() < 0.15:
        return _residual_model(rng, index)
    shape = _input_shape(rng)
    tiled = rng.random() < 0.15
    spec = dict(shape=shape, per_tensor=bool(rng.random() < 0.25),
                fc_weights=str(rng.choice(["int8", "int16", "pairs"])), ram_budget="min" if tiled else None)
    if tiled:
        # A chain the tiler can cut into rows: two convolutions around a
        # depthwise, the first strided or not.
        in_h, in_w, in_c = shape
        first = _branch_of_kind(rng, "conv", in_h, in_w, in_c)
        spec["chain"] = [first, _branch_of_kind(rng, "depthwise", None, None, None),
                         _branch_of_kind(rng, "pointwise", None, None, None)]
        spec["name"] = f"sweep{index:02d}_tiled"
    elif rng.random() < 0.2:
        # 16x8 (int16 activations): one branch, since each value prints as
        # four hex digits and predict() prints the first output again;
        # per-channel, as TF's 16x8 quantiser cannot give a depthwise
        # per-tensor scales.
        spec.update(branches=[_branch(rng, *shape)], name=f"sweep{index:02d}_16x8", int16=True,
                    fc_weights="int8", per_tensor=False)
    else:
        spec["branches"] = [_branch(rng, *shape) for _ in range(3)]
        spec["name"] = f"sweep{index:02d}"
    return spec


def _residual_model(rng, index):
    """A residual block after a wide layer: its ADD or SUB has 1024 outputs
    or more, and the wide layer's arena peak leaves room for the input
    tables (scratch.optional()), the path ResNets take."""
    pixels = int(rng.integers(64, 197))
    in_h = int(rng.integers(8, 15))
    in_w = -(-pixels // in_h)
    in_c = int(rng.choice([1, 3, 4, 8, 16]))
    channels = -(-1024 // (in_h * in_w))
    op = str(rng.choice(["Add", "Subtract"]))
    broadcast = bool(rng.random() < 0.3)
    activation = ACTIVATIONS[int(rng.integers(0, 3))]

    def build(L, x):
        wide = L.Conv2D(64, 3, padding="same", activation="relu")(x)
        y = L.Conv2D(channels, 1, activation=activation)(wide)
        z = L.GlobalAveragePooling2D(keepdims=True)(y) if broadcast else L.Conv2D(channels, 3, padding="same")(y)
        return getattr(L, op)()([y, z])
    desc = f"wide64_pw{channels}_{op.lower()}{'_broadcast' if broadcast else ''}_{activation}"
    return dict(shape=(in_h, in_w, in_c), per_tensor=bool(rng.random() < 0.25), fc_weights="int8",
                ram_budget=None, branches=[(desc, build)], name=f"sweep{index:02d}_residual")


def _branch_of_kind(rng, kind, in_h, in_w, in_c):
    activation = ACTIVATIONS[int(rng.integers(0, 3))]
    if kind == "conv":
        kernel = (3, 3)
        strides = (1, 1) if rng.random() < 0.5 else (2, 2)
        filters = int(rng.integers(1, 25))
        return (f"conv3x3_s{strides[0]}_f{filters}",
                lambda L, x: L.Conv2D(filters, kernel, strides=strides, padding="same", activation=activation)(x))
    if kind == "depthwise":
        return ("dw3x3", lambda L, x: L.DepthwiseConv2D(3, padding="same", activation=activation)(x))
    filters = int(rng.integers(1, 25))
    return (f"pw_f{filters}", lambda L, x: L.Conv2D(filters, 1, activation=activation)(x))


def keras_model(spec):
    import keras
    import numpy as np

    keras.utils.set_random_seed(sum(map(ord, spec["name"])))
    L = keras.layers
    x = keras.Input(spec["shape"])
    if "chain" in spec:
        y = x
        for _, build in spec["chain"]:
            y = build(L, y)
        outputs = [y]
    else:
        outputs = [build(L, x) for _, build in spec["branches"]]
    model = keras.Model(x, outputs)
    rng = np.random.default_rng(sum(map(ord, spec["name"])))
    calib = rng.normal(size=(32, *spec["shape"])).astype(np.float32) * rng.uniform(0.5, 3)
    return model, calib


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=48, help="how many random models (default 48)")
    ap.add_argument("--seed", type=int, default=2026, help="the draw's seed (default 2026)")
    args = ap.parse_args()

    import numpy as np
    import parity

    from tinyml_converter import convert
    from tinyml_converter.blob import read_blob

    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.glob("*"):
        stale.unlink()
    rng = np.random.default_rng(args.seed)
    source = parity.source_of(__file__)
    next_addr = dict(gen_mpy_tests.BLOB_BASE)
    blobs = {board: [] for board in gen_mpy_tests.BLOB_BASE}
    for index in range(args.models):
        spec = draw_model(rng, index)
        parts = [d for d, _ in spec.get("chain", spec.get("branches"))]
        print(f"gen_mpy_sweep: {spec['name']} {spec['shape']} {' '.join(parts)} "
              f"{'per-tensor' if spec['per_tensor'] else 'per-channel'} --fc-weights {spec['fc_weights']}",
              flush=True)
        key = parity.cache_key("sweep", args.seed, spec["name"], spec["shape"], parts, source)
        with contextlib.redirect_stdout(io.StringIO()):  # TF's export chatter
            tflite_bytes = parity.quantize(lambda: keras_model(spec), key, per_tensor=spec["per_tensor"],
                                           int16=spec.get("int16", False))
        blob = convert.tflite_to_blob(tflite_bytes, name=spec["name"], ram_budget=spec["ram_budget"],
                                      fc_weights=spec["fc_weights"])
        # A plan that fits without reading its input in place keeps it in the arena.
        in_place = any(t["placement"] == "external" for t in read_blob(blob).tensors)
        gen_mpy_tests.write_model_test(OUT, spec["name"], tflite_bytes, blob, spec["shape"], None,
                                       next_addr, blobs, count=INVOKES, int16=spec.get("int16", False),
                                       in_place_input=in_place)
    (OUT / "blobs.json").write_text(json.dumps(blobs, indent=1))
    used = next_addr["qemu_m0"] - gen_mpy_tests.BLOB_BASE["qemu_m0"]
    print(f"gen_mpy_sweep: {args.models} models in {OUT} ({used // 1024} KB of qemu_m0's preload window)")


if __name__ == "__main__":
    main()
