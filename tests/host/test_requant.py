"""tml_requant.h's doubling high multiply, both forms (the 64-bit product and
the 16-bit-halves one Cortex-M0 builds use), against TFLite's definition
(gemmlowp SaturatingRoundingDoublingHighMul: nudge 2^30 or 1 - 2^30, divide
by 2^31 truncating towards zero), and the whole rescale in both of TFLite's
roundings: the double one (convolutions) and the single one
(FULLY_CONNECTED: x * m / 2^(31 - shift), halves rounded up)."""
import ctypes
import random
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIM = r"""
#include "tml_requant.h"
int32_t high_mul(int32_t a, int32_t b) { return tml_saturating_rounding_doubling_high_mul(a, b); }
int32_t mbqm(int32_t x, int32_t m, int32_t s) { return tml_multiply_by_quantized_multiplier(x, m, s); }
int32_t mbqm1(int32_t x, int32_t m, int32_t s) { return tml_multiply_by_quantized_multiplier_single_round(x, m, s); }
#ifndef TML_REQUANT_HALVES
int32_t folded(int32_t x, int32_t m, int32_t zp, int32_t s) { return tml_rescale_folded(x, m, tml_rescale_fold(zp, s), s); }
#endif
"""

I32_MIN, I32_MAX = -2**31, 2**31 - 1


def ref_high_mul(a, b):
    if a == b == I32_MIN:
        return I32_MAX
    ab = a * b
    v = ab + ((1 << 30) if ab >= 0 else 1 - (1 << 30))
    q = abs(v) >> 31
    return q if v >= 0 else -q


def ref_divide_by_pot(x, e):
    mask = (1 << e) - 1
    rem, thr = x & mask, (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > thr else 0)


def ref_mbqm(x, m, s):
    left = s if s > 0 else 0
    x = ((x << left) + 2**31) % 2**32 - 2**31
    return ref_divide_by_pot(ref_high_mul(x, m), 0 if s > 0 else -s)


def ref_mbqm_single(x, m, s):
    total = 31 - s
    v = (x * m + (1 << (total - 1))) >> total
    return max(I32_MIN, min(I32_MAX, v))


@pytest.fixture(scope="module", params=["int64", "halves"])
def lib(request, tmp_path_factory):
    d = tmp_path_factory.mktemp(request.param)
    (d / "shim.c").write_text(SHIM)
    so = d / "shim.so"
    flags = ["-DTML_REQUANT_HALVES"] if request.param == "halves" else []
    subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                    *flags, f"-I{ROOT / 'usermod_c'}", str(d / "shim.c"), "-o", str(so)], check=True)
    dll = ctypes.CDLL(str(so))
    for f, n in ((dll.high_mul, 2), (dll.mbqm, 3), (dll.mbqm1, 3)):
        f.argtypes = [ctypes.c_int32] * n
        f.restype = ctypes.c_int32
    if request.param == "int64":
        dll.folded.argtypes = [ctypes.c_int32] * 4
        dll.folded.restype = ctypes.c_int32
    return dll


EDGES = [0, 1, -1, 2, -2, I32_MAX, I32_MIN, I32_MIN + 1, I32_MAX - 1, 1 << 30, -(1 << 30),
         65535, 65536, -65536, -65535, 32767, -32768, 32768, 0x7FFF8000, -0x7FFF8000, 0x12345678]


def test_high_mul(lib):
    rng = random.Random(7)
    vals = EDGES + [rng.randint(I32_MIN, I32_MAX) for _ in range(300)]
    bad = [(a, b) for a in vals for b in vals[:60] if lib.high_mul(a, b) != ref_high_mul(a, b)]
    assert not bad, bad[:5]


def test_rescale(lib):
    rng = random.Random(8)
    for _ in range(20000):
        x = rng.randint(-2**20, 2**20) if rng.random() < 0.7 else rng.randint(I32_MIN, I32_MAX)
        m = rng.randint(1 << 30, I32_MAX)
        s = rng.randint(-31, 0) if rng.random() < 0.9 else rng.randint(1, 8)
        if s > 0:
            x >>= s + 1
        assert lib.mbqm(x, m, s) == ref_mbqm(x, m, s), (x, m, s)


def _rescale_cases(seed, count):
    """x over the whole int32 range and near the rounding ties, every
    multiplier the loader accepts (>= 0), every shift it accepts."""
    rng = random.Random(seed)
    cases = [(x, m, s) for x in EDGES for m in (0, 1, 1 << 30, I32_MAX, 0x5A5A5A5A)
             for s in (-31, -30, -17, -2, -1, 0, 1)]
    for _ in range(count):
        s = rng.randint(-31, 0) if rng.random() < 0.9 else rng.randint(1, 8)
        m = rng.randint(1 << 30, I32_MAX) if rng.random() < 0.9 else rng.randint(0, I32_MAX)
        if rng.random() < 0.3:
            # An exact tie (or one off it) of the final rounding: x * m near
            # (k + 1/2) * 2^(31 - s).
            target = (2 * rng.randint(-2**12, 2**12) + 1) << (30 - min(s, 0))
            x = target // m + rng.randint(-1, 1) if m else 0
        else:
            x = rng.randint(-2**20, 2**20) if rng.random() < 0.5 else rng.randint(I32_MIN, I32_MAX)
        cases.append((max(I32_MIN, min(I32_MAX, x)), m, s))
    return cases


def test_rescale_every_shift_and_multiplier(lib):
    bad = [(x, m, s) for x, m, s in _rescale_cases(9, 30000)
           if (s <= 0 or abs(x) < 2**(30 - s)) and lib.mbqm(x, m, s) != ref_mbqm(x, m, s)]
    assert not bad, bad[:5]


def test_single_rounding_rescale(lib):
    bad = [(x, m, s) for x, m, s in _rescale_cases(10, 30000)
           if lib.mbqm1(x, m, s) != ref_mbqm_single(x, m, s)]
    assert not bad, bad[:5]


def test_rescale_with_zero_point_folded(lib):
    """The convolutions' one-shift form (the Cortex-M3/M4 rescale loops
    mirror it): rescale plus zero point, for every shift it takes."""
    if not hasattr(lib, "folded"):
        pytest.skip("the folded form needs the 64-bit product")
    rng = random.Random(11)
    cases = [(x, m, s, zp) for x, m, s in _rescale_cases(12, 30000) if -23 <= s <= -2
             for zp in (rng.randint(-128, 127),)]
    cases += [(x, m, s, zp) for x in EDGES for m in (0, 1, 1 << 30, I32_MAX) for s in (-23, -2)
              for zp in (-128, 0, 127)]
    assert len(cases) > 15000
    bad = [c for c in cases if lib.folded(c[0], c[1], c[3], c[2]) != ref_mbqm(c[0], c[1], c[2]) + c[3]]
    assert not bad, bad[:5]
