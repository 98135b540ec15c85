"""converter/tinyml_converter/scratch.py against the C kernels' own
`_scratch_size()` companions, on the two builds the host can run: the
shipped x86-64 (SSE2) build and the portable C one (TML_FORCE_PORTABLE,
what the Cortex-M0 and M3 paths replace). The Arm builds' figures are held
to by the loader, which refuses a blob that reserves less than its kernels
need, and so by the parity tests on every emulated board."""

import ctypes
import functools
import itertools

import numpy as np
import pytest

from conftest import ConvParams, Dims, compile_c_library
from tinyml_converter import scratch as S

BUILDS = {"x86-64-sse2": (), "portable": ("-DTML_FORCE_PORTABLE",)}


@functools.cache
def lib(build):
    so = compile_c_library(["tml_conv.c", "tml_fc.c"], f"scratch_{build}", BUILDS[build])
    p = ctypes.c_void_p
    so.tml_conv_scratch_size.argtypes = so.tml_depthwise_conv_scratch_size.argtypes = [p, p]
    so.tml_fully_connected_scratch_size.argtypes = [ctypes.c_int32]
    so.tml_fully_connected_w16_scratch_size.argtypes = [ctypes.c_int32]
    for f in (so.tml_conv_scratch_size, so.tml_depthwise_conv_scratch_size, so.tml_fully_connected_scratch_size,
              so.tml_fully_connected_w16_scratch_size):
        f.restype = ctypes.c_uint32
    return so


def shapes(seed, n=300):
    rng = np.random.default_rng(seed)
    fixed = [(1, 1, 1, 1), (3, 3, 8, 1), (3, 3, 57, 1), (3, 3, 56, 1), (5, 5, 48, 1), (10, 4, 1, 1),
             (1, 1, 512, 1), (1, 1, 513, 1), (3, 3, 64, 1), (3, 3, 65, 1), (2, 1, 288, 1), (2, 1, 289, 1), (3, 3, 70, 2), (6, 6, 64, 1), (7, 5, 3, 1)]
    rand = [(int(rng.integers(1, 8)), int(rng.integers(1, 8)), int(rng.integers(1, 300)),
             int(rng.choice([1, 1, 1, 2, 3]))) for _ in range(n)]
    return fixed + rand


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_conv_and_depthwise_match_the_c(build):
    b = next(x for x in S.BUILDS if x.name == build)
    so = lib(build)
    for kh, kw, c, dm in shapes(1):
        p = ConvParams(kh, kw, 1, 1, 1, 1, 0, 0, dm, -128, 127)
        dims = Dims(1, 16, 16, c)
        assert so.tml_conv_scratch_size(ctypes.byref(p), ctypes.byref(dims)) == S.conv_2d(b, kh, kw, c), (kh, kw, c)
        assert so.tml_depthwise_conv_scratch_size(ctypes.byref(p), ctypes.byref(dims)) \
            == S.depthwise_conv_2d(b, kh, kw, dm, c), (kh, kw, c, dm)


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_fully_connected_matches_the_c(build):
    b = next(x for x in S.BUILDS if x.name == build)
    for n in itertools.chain(range(1, 70), (255, 256, 257, 511, 512, 513, 4096, 65536)):
        assert lib(build).tml_fully_connected_scratch_size(n) == S.fully_connected(b, n), n
        assert lib(build).tml_fully_connected_w16_scratch_size(n) == S.fully_connected_w16(b, n), n


def test_reservation_covers_every_build():
    for kh, kw, c, dm in shapes(2):
        dims = (1, 9, 9, c)
        for opname in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "FULLY_CONNECTED_W16"):
            params = dict(kernel_h=kh, kernel_w=kw, depth_multiplier=dm)
            need = S.scratch_bytes(opname, params, dims, kh * kw * c)
            assert need % 8 == 0
            assert all(need >= S.op_scratch(b, opname, params, dims, kh * kw * c) for b in S.BUILDS)
    # The Cortex-M4 paths are the largest: the prepared pair (1 KB) and, for
    # a 3x3 depthwise over 64 channels, 1152 bytes of widened weights.
    assert S.scratch_bytes("DEPTHWISE_CONV_2D", dict(kernel_h=3, kernel_w=3, depth_multiplier=1),
                           (1, 8, 8, 64)) >= 1152
    # The DSP path's prepared piece of a pre-widened FULLY_CONNECTED: 37
    # inputs padded to 40 int16, at most 512.
    assert S.scratch_bytes("FULLY_CONNECTED_W16", {}, (1, 1, 1, 37), 37) == 80
    assert S.scratch_bytes("FULLY_CONNECTED_W16", {}, (1, 1, 1, 600), 600) == 1024


class BatchMatmulParams(ctypes.Structure):
    _fields_ = [("multiplier", ctypes.c_int32), ("shift", ctypes.c_int32), ("rows", ctypes.c_int32),
                ("cols", ctypes.c_int32), ("depth", ctypes.c_int32), ("adj_x", ctypes.c_uint8),
                ("adj_y", ctypes.c_uint8)]


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_batch_matmul_matches_the_c(build):
    b = next(x for x in S.BUILDS if x.name == build)
    so = compile_c_library(["tml_batch_matmul.c"], f"scratch_bmm_{build}", BUILDS[build])
    so.tml_batch_matmul_scratch_size.argtypes = [ctypes.c_void_p]
    so.tml_batch_matmul_scratch_size.restype = ctypes.c_uint32
    for depth, cols, adj_x, adj_y in itertools.product((1, 3, 8, 255, 256, 257, 600, 32768), (1, 5, 33),
                                                       (0, 1), (0, 1)):
        p = BatchMatmulParams(1 << 30, 0, 4, cols, depth, adj_x, adj_y)
        assert so.tml_batch_matmul_scratch_size(ctypes.byref(p)) \
            == S.batch_matmul(b, depth, cols, adj_x, adj_y), (depth, cols, adj_x, adj_y)
