"""int16 LOGISTIC, TANH and SOFTMAX (usermod_c/tml_s16_act.c, parameters from
tinyml_converter/s16_act.py) against TFLite 2.21's BUILTIN_REF interpreter on
hand-built single-op int16 models: every one of the 65536 inputs for the
unary ops at input scales that are powers of two and not, small and large
(including those TFLite's power-of-two test accepts within its tolerance and
those whose int32 products wrap), and SOFTMAX on random rows of several
depths and scale/beta pairs, plus every row-maximum difference."""
import ctypes

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tflite_build import Builder  # noqa: E402
from tinyml_converter import s16_act  # noqa: E402
from tinyml_converter.errors import ConversionError  # noqa: E402

I16P = ctypes.POINTER(ctypes.c_int16)


class Prescale(ctypes.Structure):
    _fields_ = [("input_multiplier", ctypes.c_int32), ("input_left_shift", ctypes.c_int32)]


class Softmax(ctypes.Structure):
    _fields_ = [("input_multiplier", ctypes.c_int32), ("input_shift", ctypes.c_int32),
                ("exp_lut", I16P), ("one_over_one_plus_x_lut", I16P)]


# Both forms of tml_requant.h's multiply (SOFTMAX's rescale): the 64-bit one
# and the 16-bit-halves one Cortex-M0 builds use.
@pytest.fixture(scope="module", params=["int64", "halves"])
def lib(c_builder, request):
    flags = ["-DTML_REQUANT_HALVES"] if request.param == "halves" else []
    dll = c_builder(["tml_s16_act.c"], f"tml_s16_act_{request.param}", flags)
    detail = ctypes.POINTER(ctypes.c_char_p)
    for name in ("tml_s16_logistic", "tml_s16_tanh"):
        getattr(dll, name).argtypes = [ctypes.POINTER(Prescale), ctypes.c_int32, I16P, I16P]
        getattr(dll, name).restype = None
        getattr(dll, name + "_check").argtypes = [ctypes.POINTER(Prescale), detail]
        getattr(dll, name + "_check").restype = ctypes.c_int
    dll.tml_s16_softmax.argtypes = [ctypes.POINTER(Softmax), ctypes.c_int32, ctypes.c_int32, I16P, I16P]
    dll.tml_s16_softmax.restype = None
    dll.tml_s16_softmax_check.argtypes = [ctypes.POINTER(Softmax), ctypes.c_int32, detail]
    dll.tml_s16_softmax_check.restype = ctypes.c_int
    return dll


def ptr(a):
    return a.ctypes.data_as(I16P)


def reference(op, x, input_scale, output_scale=1 / 32768, beta=None):
    b = Builder()
    i = b.tensor("in", x.shape, np.int16, scale=input_scale)
    o = b.tensor("out", x.shape, np.int16, scale=output_scale)
    if op == "SOFTMAX":
        opts = b.s.SoftmaxOptionsT()
        opts.beta = beta
        b.op(op, [i], [o], "SoftmaxOptions", opts)
    else:
        b.op(op, [i], [o])
    it = tf.lite.Interpreter(model_content=b.finish([i], [o]),
                             experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def check(dll, name, p, *extra):
    detail = ctypes.c_char_p()
    return getattr(dll, name + "_check")(ctypes.byref(p), *extra, ctypes.byref(detail))


ALL = np.arange(-32768, 32768, dtype=np.int16)

# 2^-12 (and 2^-11 for TANH) take TFLite's power-of-two path; 2^-12 * 1.0005
# does too (CheckedLog2's tolerance), 2^-12 * 1.002 does not. 1/6144 and
# 1/12288 rescale by exactly 2 and 1. Scales above 2.67 wrap TFLite's int32
# products. The rest are ordinary scales over a range of magnitudes.
SCALES = [2.0 ** -12, 2.0 ** -11, 2.0 ** -12 * 1.0005, 2.0 ** -12 * 1.002, 2.0 ** -15, 2.0 ** -8,
          2.0 ** -4, 0.5, 1 / 6144, 1 / 12288, 3.0517578e-5 * 1.37, 1e-4, 7.3e-4, 0.0123, 0.3,
          1e-9, 3.0, 40.0]


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH"])
@pytest.mark.parametrize("scale", SCALES)
def test_unary_exhaustive(lib, op, scale):
    make = s16_act.logistic_params if op == "LOGISTIC" else s16_act.tanh_params
    params = make(scale, 1 / 32768)
    p = Prescale(params.input_multiplier, params.input_left_shift)
    assert check(lib, f"tml_s16_{op.lower()}", p) == 0
    got = np.empty_like(ALL)
    getattr(lib, f"tml_s16_{op.lower()}")(ctypes.byref(p), ALL.size, ptr(ALL), ptr(got))
    want = reference(op, ALL, scale)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, (params, [(int(ALL[k]), int(got[k]), int(want[k])) for k in bad[:8]])
    # In place gives the same.
    buf = ALL.copy()
    getattr(lib, f"tml_s16_{op.lower()}")(ctypes.byref(p), buf.size, ptr(buf), ptr(buf))
    assert np.array_equal(buf, want)


def test_pot_paths():
    # The special case becomes multiplier 3 << k, shift 0; an ordinary scale
    # a multiplier in (16383.5, 32767].
    assert s16_act.logistic_params(2.0 ** -12, 1 / 32768) == s16_act.S16PrescaleParams(3, 0)
    assert s16_act.tanh_params(2.0 ** -11, 1 / 32768) == s16_act.S16PrescaleParams(6, 0)
    p = s16_act.logistic_params(2.0 ** -11, 1 / 32768)
    assert 16383.5 < p.input_multiplier <= 32767 and p.input_left_shift == 12


def softmax_params(scale, beta):
    q = s16_act.softmax_params(scale, beta, 1 / 32768)
    exp_lut, rec_lut = s16_act.softmax_exp_lut(), s16_act.softmax_one_over_one_plus_x_lut()
    assert exp_lut.shape == rec_lut.shape == (s16_act.LUT_SIZE,)
    p = Softmax(q.input_multiplier, q.input_shift, ptr(exp_lut), ptr(rec_lut))
    return p, (exp_lut, rec_lut)  # the tables must outlive p


def run_softmax(lib, p, x):
    out = np.empty_like(x)
    assert check(lib, "tml_s16_softmax", p, x.shape[-1]) == 0
    lib.tml_s16_softmax(ctypes.byref(p), x.size // x.shape[-1], x.shape[-1], ptr(x), ptr(out))
    return out


# (input scale, beta): typical int16 softmax inputs, a beta other than 1,
# scales whose rescale shifts left by up to 16 (diffs wrap as in TFLite) and
# right by up to 20.
SOFTMAX_CASES = [(1 / 2048, 1.0), (3.0517578e-4, 1.0), (1e-3, 0.5), (0.01, 1.0), (0.1, 2.0),
                 (1.7e-5, 1.0), (1e-6, 3.0), (8.0, 1.0), (0.05, 0.25)]


@pytest.mark.parametrize("scale,beta", SOFTMAX_CASES)
def test_softmax_random_rows(lib, scale, beta):
    rng = np.random.default_rng(int(scale * 1e6) + int(beta * 10))
    p, keep = softmax_params(scale, beta)
    for depth in (1, 2, 5, 10, 33, 100):
        rows = 400
        # Full-range rows, and rows spread over a few multiples of 1 / (scale
        # beta) so that the exps are neither all 1 nor all 0.
        spread = int(min(32767, max(4, 8 / (scale * beta))))
        centre = rng.integers(-32768 + spread, 32768 - spread, (rows, 1))
        narrow = centre + rng.integers(-spread, spread + 1, (rows, depth))
        wide = rng.integers(-32768, 32768, (rows, depth))
        x = np.concatenate([narrow, wide]).astype(np.int16)
        x[::7, 0] = x[::7, -1]  # ties for the maximum
        got, want = run_softmax(lib, p, x), reference("SOFTMAX", x, scale, beta=beta)
        bad = np.argwhere(got != want)
        assert bad.size == 0, (depth, [(x[r].tolist(), got[r].tolist(), want[r].tolist())
                                       for r, _ in bad[:3]])


# The last pair's scale * beta rounds differently in float32 (as TFLite
# multiplies) and in double, and the two multipliers give different outputs.
FLOAT32_PRODUCT = (0.0001556978968437761, 2.5088021755218506)


@pytest.mark.parametrize("scale,beta", [(1 / 2048, 1.0), (1e-3, 0.5), (1.7e-5, 1.0), (8.0, 1.0), FLOAT32_PRODUCT])
def test_softmax_every_difference(lib, scale, beta):
    # Rows (32767, v) for every v: each difference from the maximum in
    # [-65535, 0] goes through the exp table and the sum of two exps through
    # the reciprocal table.
    p, keep = softmax_params(scale, beta)
    x = np.stack([np.full(65536, 32767, np.int16), ALL], axis=1)
    got, want = run_softmax(lib, p, x), reference("SOFTMAX", x, scale, beta=beta)
    bad = np.argwhere(got != want)
    assert bad.size == 0, [(x[r].tolist(), got[r].tolist(), want[r].tolist()) for r, _ in bad[:5]]
    # In place.
    buf = x.copy()
    lib.tml_s16_softmax(ctypes.byref(p), 65536, 2, ptr(buf), ptr(buf))
    assert np.array_equal(buf, want)


def test_checks_reject(lib):
    for m, s in ((-1, 0), (1, -1), (1, 32), (1, -(2 ** 31))):
        for name in ("tml_s16_logistic", "tml_s16_tanh"):
            assert check(lib, name, Prescale(m, s)) != 0
    p, keep = softmax_params(1e-3, 1.0)
    assert check(lib, "tml_s16_softmax", p, 1) == 0
    assert check(lib, "tml_s16_softmax", p, 65536) == 0
    for depth in (0, -1, 65537):
        assert check(lib, "tml_s16_softmax", p, depth) != 0
    lut = keep[0]
    for m, s, e, r in ((-1, 0, lut, lut), (1, 31, lut, lut), (1, -32, lut, lut), (1, 0, None, lut),
                       (1, 0, lut, None)):
        bad = Softmax(m, s, ptr(e) if e is not None else None, ptr(r) if r is not None else None)
        assert check(lib, "tml_s16_softmax", bad, 4) != 0


def test_hostile_tables_are_defined(lib):
    # Tables from a corrupted blob: any contents must give defined results
    # (no crash here; UBSan-clean by the reasoning in the kernel's comments).
    rng = np.random.default_rng(3)
    e = rng.integers(-32768, 32768, s16_act.LUT_SIZE).astype(np.int16)
    r = rng.integers(-32768, 32768, s16_act.LUT_SIZE).astype(np.int16)
    p = Softmax(2 ** 31 - 1, 30, ptr(e), ptr(r))
    x = rng.integers(-32768, 32768, (50, 100)).astype(np.int16)
    run_softmax(lib, p, x)
    e[:] = 0
    run_softmax(lib, p, x)  # sum of exps 0


def test_params_reject():
    with pytest.raises(ConversionError):
        s16_act.logistic_params(1e-3, 1 / 32768 * 1.0001)  # LOGISTIC wants 2^-15 exactly
    s16_act.tanh_params(1e-3, 1 / 32768 * 1.0001)  # TANH only within CheckedLog2's tolerance
    with pytest.raises(ConversionError):
        s16_act.tanh_params(1e-3, 1 / 16384)
    with pytest.raises(ConversionError):
        s16_act.logistic_params(1e-3, 1 / 32768, input_zero_point=1)
    with pytest.raises(ConversionError):
        s16_act.softmax_params(1e-3, 1.0, 1 / 256)
    with pytest.raises(ConversionError):
        s16_act.softmax_params(1e6, 1.0, 1 / 32768)
    with pytest.raises(ConversionError):
        s16_act.logistic_params(1e6, 1 / 32768)
    with pytest.raises(ConversionError):
        s16_act.logistic_params(1e-15, 1 / 32768)


@pytest.mark.parametrize("op,out_scale", [("LOGISTIC", 1 / 32768), ("LOGISTIC", 1 / 32768 * 1.0001),
                                          ("TANH", 1 / 32768 * 1.0005), ("TANH", 1 / 32768 * 1.01),
                                          ("SOFTMAX", 1 / 32768 * 1.0005), ("SOFTMAX", 1 / 32768 * 1.002)])
def test_output_scale_rules_match_tflite(op, out_scale):
    # s16_act accepts exactly the output scales TFLite's Prepare accepts.
    x = np.zeros((1, 4), np.int16)
    try:
        reference(op, x, 1e-3, out_scale, beta=1.0)
        tflite_ok = True
    except (RuntimeError, ValueError):
        tflite_ok = False
    try:
        if op == "SOFTMAX":
            s16_act.softmax_params(1e-3, 1.0, out_scale)
        else:
            (s16_act.logistic_params if op == "LOGISTIC" else s16_act.tanh_params)(1e-3, out_scale)
        ours_ok = True
    except ConversionError:
        ours_ok = False
    assert ours_ok == tflite_ok


def test_tanh_tolerated_output_scale_is_ignored(lib):
    # TANH's kernel writes 2^-15 units whatever output scale TFLite tolerated.
    scale, out_scale = 1e-3, 1 / 32768 * 1.0005
    q = s16_act.tanh_params(scale, out_scale)
    p = Prescale(q.input_multiplier, q.input_left_shift)
    got = np.empty_like(ALL)
    lib.tml_s16_tanh(ctypes.byref(p), ALL.size, ptr(ALL), ptr(got))
    assert np.array_equal(got, reference("TANH", ALL, scale, out_scale))


def test_float32_product_case_is_distinct():
    scale, beta = FLOAT32_PRODUCT
    in_double = s16_act.quantize_multiplier_double_rounding(scale * beta / (10.0 / 65535.0))
    q = s16_act.softmax_params(scale, beta, 1 / 32768)
    assert (q.input_multiplier, q.input_shift) != in_double
