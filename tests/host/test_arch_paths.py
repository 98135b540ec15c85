"""The architecture paths of the dot products (tml_arch.h) against NumPy.

The core is built twice: as the host build ships it (on x86-64 the SSE2
path) and with TML_FORCE_PORTABLE (the portable C every Cortex-M0/M3 build
uses). FULLY_CONNECTED, a 1x1 CONV_2D (the matrix path) and a 3x3 CONV_2D
(the per-row path) run on random data whose reduction lengths cover every
vector-block remainder, with extreme inputs and offsets; both builds must
equal the integer arithmetic done in NumPy (int64, TFLite's rounding
formulas), so both equal each other bit for bit.
"""

import ctypes
import functools

import numpy as np
import pytest

from conftest import Dims, Requant, compile_c_library, kernel_params
from tinyml_converter import blob_layout

BUILDS = {"shipped": (), "portable": ("-DTML_FORCE_PORTABLE",)}


@functools.cache
def lib(build):
    so = compile_c_library(["tml_conv.c", "tml_fc.c"], f"arch_{build}", BUILDS[build])
    p = ctypes.c_void_p
    so.tml_conv_s8.argtypes = [p, p, p, p, p, p, p, p, p]
    so.tml_fully_connected_s8.argtypes = [p, p, ctypes.c_int32, ctypes.c_int32, p, p, p, ctypes.c_int32, p, p]
    so.tml_conv_scratch_size.argtypes = [p, p]
    so.tml_fully_connected_scratch_size.argtypes = [ctypes.c_int32]
    so.tml_conv_scratch_size.restype = so.tml_fully_connected_scratch_size.restype = ctypes.c_uint32
    so.tml_conv_s8.restype = so.tml_fully_connected_s8.restype = None
    return so


def _ptr(a):
    return a.ctypes.data_as(ctypes.c_void_p)


def _requant_single(acc, multiplier, shift):
    total = 31 - shift.astype(np.int64)
    return (acc * multiplier.astype(np.int64) + np.left_shift(np.int64(1), total - 1)) >> total


def _requant_double(acc, multiplier, shift):
    """gemmlowp's rounding doubling high multiply, then a rounding shift
    (shift <= 0 here); |acc| is far from the saturating corner."""
    ab = acc * multiplier.astype(np.int64)
    v = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    high = np.sign(v) * (np.abs(v) >> 31)
    right = -shift.astype(np.int64)
    mask = np.left_shift(np.int64(1), right) - 1
    return (high >> right) + ((high & mask) > (mask >> 1) + (high < 0))


def _quant(rng, channels):
    """Random per-channel requantisation that keeps outputs mostly unclamped
    for accumulators of a few hundred thousand."""
    multiplier = rng.integers(1 << 30, (1 << 31) - 1, channels, dtype=np.int64).astype(np.int32)
    shift = rng.integers(-14, -9, channels).astype(np.int32)
    return multiplier, shift


def _data(rng, shape):
    """int8 data with runs of the extremes, where widening mistakes show."""
    a = rng.integers(-128, 128, shape, dtype=np.int64)
    flat = a.reshape(-1)
    flat[: flat.size // 4] = rng.choice([-128, 127], flat.size // 4)
    rng.shuffle(flat)
    return a.astype(np.int8)


def _run_fc(build, x, w, bias, input_offset, output_offset, multiplier, shift):
    out_features, in_features = w.shape
    params = blob_layout.pack_params(
        "FULLY_CONNECTED", channel_quant=out_features, reserved=0, act_min=-128, act_max=127,
        weights=0, bias=0, multiplier=0, shift=0,
    )
    pbuf = ctypes.byref(kernel_params("FULLY_CONNECTED", params))
    rq = Requant(input_offset, output_offset, multiplier.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                 shift.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), out_features)
    out = np.zeros((x.shape[0], out_features), np.int8)
    scratch = (ctypes.c_uint64 * (lib(build).tml_fully_connected_scratch_size(in_features) // 8 + 1))()
    lib(build).tml_fully_connected_s8(
        pbuf, ctypes.byref(rq), x.shape[0], in_features, _ptr(x), _ptr(w), _ptr(bias), out_features, _ptr(out),
        scratch,
    )
    return out


def _run_conv(build, x, w, bias, input_offset, output_offset, multiplier, shift, pad=0):
    """VALID, or with `pad` rows and columns of padding on every side."""
    oc, kh, kw, _ = w.shape
    n, h, wd, _ = x.shape
    params = blob_layout.pack_params(
        "CONV_2D", kernel_h=kh, kernel_w=kw, stride_h=1, stride_w=1, dilation_h=1, dilation_w=1,
        pad_top=pad, pad_left=pad, depth_multiplier=1, channel_quant=oc, act_min=-128, act_max=127,
        weights=0, bias=0, multiplier=0, shift=0,
    )
    pbuf = ctypes.byref(kernel_params("CONV_2D", params))
    rq = Requant(input_offset, output_offset, multiplier.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                 shift.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), oc)
    out = np.zeros((n, h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1, oc), np.int8)
    in_dims = Dims(*x.shape)
    scratch = (ctypes.c_uint64 * (lib(build).tml_conv_scratch_size(pbuf, ctypes.byref(in_dims)) // 8 + 1))()
    lib(build).tml_conv_s8(
        pbuf, ctypes.byref(rq), ctypes.byref(in_dims), _ptr(x), _ptr(w), _ptr(bias),
        ctypes.byref(Dims(*out.shape)), _ptr(out), scratch,
    )
    return out


def _offsets(rng):
    # Input zero points are int8, so offsets span [-127, 128]; both ends.
    return [(128, -128), (-127, 127), (int(rng.integers(-127, 129)), int(rng.integers(-128, 128)))]


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_fully_connected(build):
    rng = np.random.default_rng(13)
    for in_features in [*range(1, 50), 63, 64, 65, 640]:
        out_features = int(rng.integers(1, 10))
        x = _data(rng, (2, in_features))
        w = _data(rng, (out_features, in_features))
        bias = rng.integers(-(1 << 20), 1 << 20, out_features).astype(np.int32)
        multiplier, shift = _quant(rng, out_features)
        for input_offset, output_offset in _offsets(rng):
            acc = (x.astype(np.int64) + input_offset) @ w.astype(np.int64).T + bias
            expected = np.clip(_requant_single(acc, multiplier, shift) + output_offset, -128, 127)
            got = _run_fc(build, x, w, bias, input_offset, output_offset, multiplier, shift)
            np.testing.assert_array_equal(got, expected, err_msg=f"in_features={in_features}")


@pytest.mark.parametrize("build", sorted(BUILDS))
@pytest.mark.parametrize("kernel,pad", [(1, 0), (3, 0), (3, 1)])
def test_conv(build, kernel, pad):
    rng = np.random.default_rng(kernel)
    # Channel counts around the pairs of channels and the 32-channel
    # requantisation rows; an odd number of output pixels (5 x 7, 3 x 5)
    # leaves one pixel out of the pairs.
    for in_c, oc in zip([1, 2, 3, 5, 7, 8, 15, 16, 17, 33], [1, 2, 3, 5, 31, 32, 33, 64, 9, 70]):
        x = _data(rng, (1, 5, 7, in_c))
        w = _data(rng, (oc, kernel, kernel, in_c))
        bias = rng.integers(-(1 << 20), 1 << 20, oc).astype(np.int32)
        multiplier, shift = _quant(rng, oc)
        for input_offset, output_offset in _offsets(rng):
            # Padded taps add nothing: x + input_offset is 0 there.
            shifted = np.pad(x.astype(np.int64) + input_offset, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
            win = np.lib.stride_tricks.sliding_window_view(shifted, (kernel, kernel), (1, 2))
            # win: n, oh, ow, c, kh, kw -> dot with w (oc, kh, kw, c)
            acc = np.einsum("nyxcij,oijc->nyxo", win, w.astype(np.int64)) + bias
            expected = np.clip(_requant_double(acc, multiplier, shift) + output_offset, -128, 127)
            got = _run_conv(build, x, w, bias, input_offset, output_offset, multiplier, shift, pad)
            np.testing.assert_array_equal(got, expected, err_msg=f"in_c={in_c}")
