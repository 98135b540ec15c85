"""The parity suites again, with the C core under AddressSanitizer and UBSan.

ASan cannot be loaded into the TensorFlow process, so this runs in two
steps: here (with TensorFlow) every whole model of tests/models.py and every
op family of test_parity_ops.py is converted, and its blob, inputs and
TFLite's reference outputs are written to one cases file; then
tests/fuzz/parity_check.c, built with -fsanitize=address,undefined, runs the
blobs through the C core in its own process and compares bytes. A sanitizer
finding aborts that process and fails the test with its report.

The inputs and the int8 .tflite files are the parity tests' own (same seeds,
same cache in build/test-cache/), so this adds the sanitizer, not new cases.
The fuzzer's regression inputs (tests/fuzz/regressions/) are replayed under
the sanitizers too, through the loader tests' corpus driver.
"""

import hashlib
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import parity
from conftest import BUILD, C_DIR, REPO

pytest.importorskip("tensorflow")
pytest.importorskip("keras")
sys.path.insert(0, str(REPO / "tests"))

from tinyml_converter import host_runtime  # noqa: E402

SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
DRIVER_SRC = REPO / "tests" / "fuzz" / "parity_check.c"
REGRESSIONS = REPO / "tests" / "fuzz" / "regressions"


@pytest.fixture(scope="module")
def driver():
    BUILD.mkdir(parents=True, exist_ok=True)
    exe = BUILD / "parity_check_asan"
    sources = [DRIVER_SRC, *host_runtime.core_sources(C_DIR)]
    deps = sources + list(C_DIR.glob("*.h"))
    if not exe.exists() or any(p.stat().st_mtime > exe.stat().st_mtime for p in deps):
        cmd = ["cc", "-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror", f"-I{C_DIR}",
               *SANITIZE, *map(str, sources), "-o", str(exe)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            pytest.fail(f"cannot build the sanitized driver:\n{' '.join(cmd)}\n{res.stderr[-2000:]}")
    return exe


def converted(tflite: bytes, **options) -> bytes:
    """tflite_to_blob, cached under build/test-cache/ by the .tflite and the
    converter's source: converting the many-branch op families takes tens of
    seconds, and the blobs only change with the converter."""
    from tinyml_converter import convert

    src = b"".join(p.read_bytes() for p in sorted((REPO / "converter" / "tinyml_converter").glob("*.py")))
    key = hashlib.sha256(src + b"\0" + tflite + repr(sorted(options.items())).encode()).hexdigest()[:32]
    path = parity.CACHE / f"blob-{key}.tinyml"
    if path.exists():
        return path.read_bytes()
    blob = convert.tflite_to_blob(tflite, **options)
    parity.CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(blob)
    os.replace(tmp, path)
    return blob


def blob_order(oracle, values, positions):
    """Keras-ordered tensors -> the blob's (subgraph) order."""
    out = [None] * len(values)
    for k, p in enumerate(positions):
        out[p] = values[k]
    return out


def case_record(name, blob, oracle, input_sets):
    body = bytearray()
    raw_name = name.encode()
    body += struct.pack("<I", len(raw_name)) + raw_name
    body += struct.pack("<I", len(blob)) + blob + b"\0" * (-len(blob) % 4)
    body += struct.pack("<I", len(input_sets))
    for xs in input_sets:
        ys = oracle.run(xs)  # TFLite's reference kernels: the expected bytes
        dtypes = blob_order(oracle, oracle.input_dtypes, oracle.in_pos)
        for x, dtype in zip(blob_order(oracle, xs, oracle.in_pos), dtypes):
            body += np.ascontiguousarray(x, dtype.newbyteorder("<")).tobytes()
        # int8 and int16 outputs as they are; index outputs (ARG_MAX, ARG_MIN:
        # TFLite's int32 or int64) as the int32 the blob holds.
        for y in blob_order(oracle, ys, oracle.out_pos):
            body += np.ascontiguousarray(y, y.dtype.newbyteorder("<") if y.dtype in (np.int8, np.int16)
                                         else "<i4").tobytes()
    return struct.pack("<I", len(body)) + bytes(body)


def run_driver(driver, records, tmp_path):
    cases = tmp_path / "cases.bin"
    cases.write_bytes(b"".join(records))
    res = subprocess.run([str(driver), str(cases)], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "ASAN_OPTIONS": "detect_leaks=1",
                              "UBSAN_OPTIONS": "print_stacktrace=1"})
    assert res.returncode == 0, (f"sanitized driver failed (exit {res.returncode}):\n"
                                 f"{res.stdout[-1000:]}\n{res.stderr[-4000:]}")
    lines = res.stdout.splitlines()
    assert len(lines) == len(records), res.stdout
    return lines


def test_models_under_sanitizers(driver, tmp_path):
    import models
    import test_parity_models as pm
    records = []
    for name in models.MODELS:
        tfl = pm._tflite(name)
        oracle = parity.Oracle(tfl)
        records.append(case_record(name, converted(tfl, **pm.blob_options(name)), oracle, pm._input_sets(oracle)))
    lines = run_driver(driver, records, tmp_path)
    bad = [ln for ln in lines if " ok " not in ln]
    assert not bad, "\n".join(bad)


def test_op_families_under_sanitizers(driver, tmp_path):
    import test_parity_ops as po
    records, skipped = [], []
    for family, cases in po.FAMILIES.items():
        # A family the converter or TF cannot take whole is split per case,
        # as test_parity_ops does; a case that cannot convert at all is that
        # suite's failure to report, not this one's.
        try:
            tfl = parity.quantize(lambda: po.build_model(family, cases),
                                  parity.cache_key("ops", family, po.SOURCE),
                                  per_tensor=family in po.PER_TENSOR)
            blobs = [(family, tfl, converted(tfl))]
        except Exception:  # noqa: BLE001 - retried case by case below
            blobs = []
            for case in cases:
                name = f"{family}/{case.id}"
                try:
                    tfl = parity.quantize(lambda case=case, name=name: po.build_model(name, [case]),
                                          parity.cache_key("ops", name, po.SOURCE),
                                          per_tensor=family in po.PER_TENSOR)
                    blobs.append((name, tfl, converted(tfl)))
                except Exception as exc:  # noqa: BLE001
                    skipped.append(f"{name}: {type(exc).__name__}")
        for name, tfl, blob in blobs:
            oracle = parity.Oracle(tfl)
            rng = np.random.default_rng(7)
            records.append(case_record(name, blob, oracle, parity.random_inputs(oracle, rng, 5)))
    assert records, "no op family converted"
    lines = run_driver(driver, records, tmp_path)
    bad = [ln for ln in lines if " ok " not in ln]
    assert not bad, "\n".join(bad)
    assert len(skipped) < len(po.CASES) // 4, f"too many cases did not convert: {skipped}"


def test_fuzz_regressions_under_sanitizers(tmp_path):
    """Every input the fuzzer ever crashed on, through init and invoke."""
    import test_model_loader as lt

    blobs = [p.read_bytes() for p in sorted(REGRESSIONS.glob("*.bin"))]
    if not blobs:
        pytest.skip("no fuzzer regression inputs recorded")
    exe = lt.build_driver("fuzz_driver_asan", SANITIZE)
    results = lt.run_corpus(exe, blobs, tmp_path)
    refused_by_kernel = [i for i, (init, inv) in enumerate(results) if init == 0 and inv != 0]
    assert not refused_by_kernel, f"accepted by init but refused by a kernel: {refused_by_kernel}"
