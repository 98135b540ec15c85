#!/usr/bin/env python3
"""The release as a user outside this checkout gets it (`make test-dist`).

Installs the wheel from dist/ into a fresh virtual environment and runs the
CLI there from a temporary folder, with none of the checkout's environment:
- without TensorFlow: inspect, check and `run --target host` work (the C
  core is inside the wheel), and convert says how to get TensorFlow;
- with the [tensorflow] extra: convert gives the same bytes as the
  checkout's converter, for a .keras and for a .tflite;
- the firmware in dist/ runs the model (unix, and the UF2 booted in the
  emulated RP2040), and every output equals TFLite's reference kernels.

    scripts/test_dist.py --dist dist --work build/test-dist --constraints requirements.txt
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "converter"), str(ROOT / "tests")]

CHECKOUT_ENV = ("TINYML_HOST_LIB", "TINYML_FIRMWARE_DIR", "TINYML_MICROPYTHON", "PYTHONPATH", "VIRTUAL_ENV")


def fail(msg):
    sys.exit(f"test-dist: FAILED: {msg}")


def run(cmd, *, cwd, env=None, expect=0, timeout=900):
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout)
    if res.returncode != expect:
        fail(f"{' '.join(map(str, cmd))}: exit {res.returncode}, expected {expect}\n{res.stdout}\n{res.stderr}")
    return res


def reference_outputs(tflite: bytes, x: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    it = tf.lite.Interpreter(model_content=tflite,
                             experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dist", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--constraints", type=Path, required=True)
    args = ap.parse_args()
    dist, constraints = args.dist.resolve(), args.constraints.resolve()

    run(["sha256sum", "--check", "--quiet", "--strict", "SHA256SUMS"], cwd=dist)
    (wheel,) = dist.glob("tinyml_converter-*.whl")

    # Inputs, and what the checkout's converter and TFLite make of them.
    from models import MODELS
    from tinyml_converter.convert import keras_to_tflite

    shutil.rmtree(args.work, ignore_errors=True)
    inputs = args.work / "inputs"
    inputs.mkdir(parents=True)
    model, calib, _ = MODELS["mnist_cnn"]()
    model.save(inputs / "model.keras")
    np.save(inputs / "calib.npy", calib)
    tflite = keras_to_tflite(model, calib)
    (inputs / "model.tflite").write_bytes(tflite)
    x = np.random.default_rng(7).integers(-128, 128, size=(1, 28, 28, 1), dtype=np.int8)
    np.save(inputs / "x.npy", x)
    want = reference_outputs(tflite, x).reshape(-1)
    checkout_cli = [sys.executable, "-m", "tinyml_converter"]
    run([*checkout_cli, "convert", inputs / "model.tflite", "-o", inputs / "ref_tflite.tinyml"], cwd=ROOT)
    run([*checkout_cli, "convert", inputs / "model.keras", "--calib", inputs / "calib.npy",
         "-o", inputs / "ref_keras.tinyml"], cwd=ROOT)

    venv = args.work / "venv"
    run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", venv], cwd=args.work)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
           "-c", constraints]
    env = {k: v for k, v in os.environ.items() if k not in CHECKOUT_ENV}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    tinyml = venv / "bin" / "tinyml"
    run([*pip, wheel], cwd=args.work)

    with tempfile.TemporaryDirectory(prefix="tinyml_user_") as user:
        here = Path(user)
        out = run([tinyml, "--version"], cwd=here, env=env).stdout
        if "tinyml_converter" not in out:
            fail(f"--version printed {out!r}")
        err = run([tinyml, "convert", inputs / "model.tflite", "-o", here / "m.tinyml"], cwd=here, env=env,
                  expect=5).stderr
        if "tinyml_converter[tensorflow]" not in err:
            fail(f"convert without TensorFlow should say how to install it, said: {err!r}")
        if (here / "m.tinyml").exists():
            fail("convert without TensorFlow left a file behind")
        blob = inputs / "ref_tflite.tinyml"
        out = run([tinyml, "inspect", blob], cwd=here, env=env).stdout
        if "arena (RAM)" not in out:
            fail(f"inspect printed {out!r}")
        res = run([tinyml, "check", blob, "--board", "rpi_pico"], cwd=here, env=env)
        if "blob OK" not in res.stdout or "not available" in res.stderr:
            fail(f"check without the C core? {res.stdout!r} {res.stderr!r}")
        run([tinyml, "run", blob, "--input", inputs / "x.npy", "--output", here / "y_host.npy"], cwd=here, env=env)
        if not np.array_equal(np.load(here / "y_host.npy").reshape(-1), want):
            fail("run --target host differs from TFLite's reference kernels")
        print("test-dist: without TensorFlow: inspect, check, run --target host OK; convert exits 5")

        run([*pip, f"{wheel}[tensorflow,emulator]"], cwd=args.work, timeout=1800)
        for src, ref, extra in ((inputs / "model.tflite", "ref_tflite.tinyml", []),
                                (inputs / "model.keras", "ref_keras.tinyml", ["--calib", inputs / "calib.npy"])):
            mine = here / (src.stem + src.suffix.replace(".", "_") + ".tinyml")
            run([tinyml, "convert", src, "-o", mine, *extra], cwd=here, env=env)
            if mine.read_bytes() != (inputs / ref).read_bytes():
                fail(f"the wheel's converter and the checkout's give different blobs for {src.name}")
        print("test-dist: with TensorFlow: convert of .tflite and .keras gives the checkout's bytes")

        fw_env = dict(env, TINYML_FIRMWARE_DIR=str(dist))
        for target in ("unix", "rpi_pico"):
            y = here / f"y_{target}.npy"
            run([tinyml, "run", blob, "--input", inputs / "x.npy", "--output", y, "--target", target],
                cwd=here, env=fw_env, timeout=1200)
            if not np.array_equal(np.load(y).reshape(-1), want):
                fail(f"run --target {target} (dist/ firmware) differs from TFLite's reference kernels")
        print("test-dist: dist/ firmware: unix and the UF2 in the emulated RP2040 match TFLite")
    return 0


if __name__ == "__main__":
    sys.exit(main())
