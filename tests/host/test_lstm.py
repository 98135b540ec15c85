"""UNIDIRECTIONAL_SEQUENCE_LSTM: TFLite's fused integer LSTM, bit for bit.

Keras 3 traces an LSTM as a WHILE loop; tf_keras (Keras 2) with a fixed
batch makes TFLiteConverter fuse it into UNIDIRECTIONAL_SEQUENCE_LSTM with
int8 input and output and an int16 cell state. Those .tflite files are what
TFLite Micro users bring, and what these tests convert and run. The oracle is
TFLite's BUILTIN_REF kernels on the same file.

TFLite keeps the LSTM's state (its variable tensors) from one invoke to the
next until ResetVariableTensors; tinyml does the same (state tensors) and
Model.reset() clears them. Every family below runs several invokes in a row
on both, so the carried state is compared too. The variants Keras never
makes (CIFG, peepholes, projection, clips, cell scales where TFLite skips
the tanh) are written directly with tflite_build.py.
"""

import os

import numpy as np
import pytest

import parity

tf = pytest.importorskip("tensorflow")
tfk = pytest.importorskip("tf_keras", reason="tf_keras (Keras 2) makes TFLite fuse LSTMs")

from tinyml_converter.convert import tflite_to_blob  # noqa: E402
from tinyml_converter.host_runtime import HostModel  # noqa: E402

L = tfk.layers


def _quantise(model, shape, seed):
    rng = np.random.default_rng(seed)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]

    def rep():
        for _ in range(40):
            yield [rng.normal(size=shape).astype(np.float32)]

    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


def lstm_model(*args, **kw):
    """The int8 .tflite of _lstm_model(...), cached under build/ like parity.quantize."""
    key = parity.cache_key("fused-lstm", tfk.__version__, parity.source_of(__file__), args, sorted(kw.items()))
    path = parity.CACHE / f"{key}.tflite"
    if path.exists():
        return path.read_bytes()
    tflite = _lstm_model(*args, **kw)
    parity.CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(tflite)
    os.replace(tmp, path)
    return tflite


def _lstm_model(seed, batch, steps, features, units, return_sequences=False, time_major=False,
                stacked=0, go_backwards=False, dense=True, unit_forget_bias=True):
    tfk.utils.set_random_seed(seed)
    shape = (steps, batch, features) if time_major else (batch, steps, features)
    inp = tfk.Input(shape[1:], batch_size=shape[0])
    x = inp
    for k in range(stacked):
        x = L.LSTM(units, return_sequences=True, time_major=time_major, name=f"lstm_{k}")(x)
    x = L.LSTM(units, return_sequences=return_sequences, time_major=time_major, go_backwards=go_backwards,
               unit_forget_bias=unit_forget_bias, name="lstm_last")(x)
    if dense:
        x = L.Dense(3)(L.Flatten()(x) if return_sequences else x)
    return _quantise(tfk.Model(inp, x), shape, seed)


def fused_lstms(tflite: bytes) -> int:
    from tinyml_converter.tflite_model import read_tflite

    return sum(op.name == "UNIDIRECTIONAL_SEQUENCE_LSTM" for op in read_tflite(tflite).ops)


def check(tflite, invokes=12, seed=0):
    assert fused_lstms(tflite) >= 1, "TFLite did not fuse the LSTM: the test would not test the kernel"
    rng = np.random.default_rng(seed)
    oracle, tfl, host = parity.evaluate(tflite, lambda o: parity.random_inputs(o, rng, invokes))
    # go_backwards adds REVERSE_V2, which BUILTIN_REF lacks for int8; the
    # default kernels (no XNNPACK) then run the whole model, LSTM included.
    assert oracle.resolver == "BUILTIN_REF", oracle.resolver
    bad = [(k, p) for k, p in enumerate(parity.compare(a, b) for a, b in zip(tfl, host)) if p]
    assert not bad, f"{len(bad)} of {len(tfl)} invokes differ, first {bad[0]}"
    values = np.concatenate([a[0].reshape(-1) for a in tfl])
    assert len(np.unique(values)) > 2, "degenerate case: outputs all clamped"


CASES = [
    # seed, batch, steps, features, units, options
    (0, 1, 5, 3, 4, {}),
    (1, 1, 1, 1, 1, {}),
    (2, 1, 9, 6, 7, {"return_sequences": True}),
    (3, 2, 4, 5, 3, {}),
    (4, 3, 6, 2, 5, {"return_sequences": True}),
    (5, 1, 8, 4, 16, {"stacked": 1}),
    (6, 2, 5, 3, 6, {"time_major": True}),
    (7, 3, 4, 7, 4, {"time_major": True, "return_sequences": True}),
    (8, 1, 7, 3, 5, {"go_backwards": True}),
    (9, 1, 12, 9, 33, {"dense": False, "return_sequences": True}),
    (10, 1, 6, 13, 11, {"unit_forget_bias": False}),
    (11, 1, 20, 3, 24, {"stacked": 2, "return_sequences": True}),
]


@pytest.mark.parametrize("case", CASES, ids=[f"lstm{c[0]}" for c in CASES])
def test_fused_lstm_matches_tflite(case):
    seed, batch, steps, features, units, options = case
    check(lstm_model(seed, batch, steps, features, units, **options), seed=seed)


def test_generated_lstm_shapes():
    """Random sizes, odd ones included, a different draw each seed but fixed."""
    rng = np.random.default_rng(2026)
    for k in range(6):
        batch, steps, features, units = (int(rng.integers(1, 3)), int(rng.integers(1, 11)),
                                         int(rng.integers(1, 17)), int(rng.integers(1, 40)))
        check(lstm_model(100 + k, batch, steps, features, units,
                         return_sequences=bool(rng.integers(2)), time_major=bool(rng.integers(2))),
              invokes=6, seed=k)


def test_reset_restarts_the_sequence():
    """Model.reset() (tml_model_reset_state) equals TFLite's reset_all_variables():
    after it the same input gives the first answer again; without it the state
    carries on and (for this model) the answer changes."""
    tflite = lstm_model(21, 1, 4, 3, 6)
    rng = np.random.default_rng(5)
    oracle = parity.Oracle(tflite)
    x = [rng.integers(-128, 128, size=s, dtype=np.int8) for s in oracle.input_shapes]
    model = HostModel(tflite_to_blob(tflite))
    first_tfl = oracle.run(x)
    first = parity.run_host(model, oracle, x)
    second_tfl = oracle.run(x)
    second = parity.run_host(model, oracle, x)
    assert parity.compare(first_tfl, first) is None and parity.compare(second_tfl, second) is None
    assert not np.array_equal(first_tfl[0], second_tfl[0]), "the state changed nothing: pick another model"
    oracle.it.reset_all_variables()
    model.reset()
    again_tfl = oracle.run(x)
    again = parity.run_host(model, oracle, x)
    assert parity.compare(again_tfl, again) is None
    assert np.array_equal(again[0], first[0])


def _one_step(tflite: bytes, steps: int) -> bytes:
    """The same model with its time axis cut to one step: every [batch, steps, .]
    tensor becomes [batch, 1, .]. Quantisation and weights are untouched, so
    the two files differ only in how many frames one invoke takes."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as s

    m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(tflite, 0))
    for t in m.subgraphs[0].tensors:
        shape = list(t.shape) if t.shape is not None else []
        if len(shape) == 3 and shape[1] == steps:
            t.shape = np.array([shape[0], 1, shape[2]], np.int32)
            if t.shapeSignature is not None:
                t.shapeSignature = np.array([shape[0], 1, shape[2]], np.int32)
    b = flatbuffers.Builder(0)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_streaming_frames_equal_the_whole_sequence():
    """A keyword or gesture model fed one frame per invoke. The whole sequence
    through TFLite ([1, T, F] in, every step's output out) is the oracle; the
    same file cut to one step, on tinyml, is invoked T times with one frame
    each, the state carrying the recurrence: frame t's output bytes equal
    TFLite's step t. Then reset() and a second sequence, the same way."""
    steps, features, units = 7, 4, 9
    whole = lstm_model(31, 1, steps, features, units, return_sequences=True, dense=False)
    frame = _one_step(whole, steps)
    oracle = parity.Oracle(whole)
    model = HostModel(tflite_to_blob(frame))
    assert model.input_shapes[0] == (1, 1, features)
    rng = np.random.default_rng(31)
    for sequence in range(2):
        seq = rng.integers(-128, 128, size=(1, steps, features), dtype=np.int8)
        expected = oracle.run([seq])[0]
        oracle.it.reset_all_variables()
        for t in range(steps):
            got = model.invoke(seq[:, t:t + 1])[0]
            assert np.array_equal(got.reshape(-1), expected[0, t]), f"sequence {sequence}, frame {t}"
        model.reset()


def test_float_lstm_is_refused_by_name(tmp_path):
    tfk.utils.set_random_seed(0)
    inp = tfk.Input((4, 2), batch_size=1)
    m = tfk.Model(inp, L.LSTM(3)(inp))
    conv = tf.lite.TFLiteConverter.from_keras_model(m)
    tflite = conv.convert()
    from tinyml_converter.errors import ConversionError

    with pytest.raises(ConversionError, match="float model|only the fully integer LSTM"):
        tflite_to_blob(tflite)


def handmade_lstm(seed, batch, steps, n_input, n_cell, n_output=None, cifg=False, peephole=False,
                  projection=False, cell_clip=0.0, proj_clip=0.0, time_major=False, cell_log2=-12):
    """An integer UNIDIRECTIONAL_SEQUENCE_LSTM written directly: the variants
    Keras never makes (CIFG, peepholes, projection, clips). Weight and scale
    choices keep the gates in range; TFLite's Prepare derives the rest."""
    from tflite_build import Builder

    rng = np.random.default_rng(seed)
    n_output = n_output or n_cell
    b = Builder()
    shape = [steps, batch, n_input] if time_major else [batch, steps, n_input]
    out_shape = shape[:2] + [n_output]
    in_scale, os_scale = float(rng.uniform(0.01, 0.05)), float(rng.uniform(0.004, 0.01))
    x = b.tensor("input", shape, np.int8, in_scale, int(rng.integers(-10, 11)))

    def weights(name, rows, cols):
        return b.tensor(name, [rows, cols], np.int8, float(rng.uniform(0.002, 0.01)), 0,
                        rng.integers(-127, 128, (rows, cols)))

    gates = ["forget", "cell", "output"] if cifg else ["input", "forget", "cell", "output"]
    ins = [-1] * 24
    ins[0] = x
    for k, g in enumerate(["input", "forget", "cell", "output"]):
        if g in gates:
            ins[1 + k] = weights(f"input_to_{g}", n_cell, n_input)
            ins[5 + k] = weights(f"recurrent_to_{g}", n_cell, n_output)
    if peephole:
        for k, g in enumerate(["input", "forget", "output"]):
            if g in gates:
                ins[9 + k] = b.tensor(f"cell_to_{g}", [n_cell], np.int16, float(rng.uniform(1e-4, 5e-4)), 0,
                                      rng.integers(-20000, 20001, n_cell))
    for k, g in enumerate(["input", "forget", "cell", "output"]):
        if g in gates:
            ins[12 + k] = b.tensor(f"{g}_bias", [n_cell], np.int32, in_scale * 0.005, 0,
                                   rng.integers(-20000, 20001, n_cell))
    hidden_scale = float(rng.uniform(0.004, 0.01))
    if projection:
        ins[16] = weights("projection", n_output, n_cell)
        ins[17] = b.tensor("projection_bias", [n_output], np.int32, hidden_scale * 0.005, 0,
                           rng.integers(-2000, 2001, n_output))
    os_zp = int(rng.integers(-10, 11))
    ins[18] = b.tensor("output_state", [batch, n_output], np.int8, os_scale, os_zp, variable=True)
    ins[19] = b.tensor("cell_state", [batch, n_cell], np.int16, 2.0 ** cell_log2, 0, variable=True)
    inter = [b.tensor(f"intermediate_{k}", [0], np.float32) for k in range(4)]
    inter.append(b.tensor("hidden", [0], np.int8, hidden_scale if projection else os_scale,
                          int(rng.integers(-5, 6)) if projection else os_zp))
    y = b.tensor("output", out_shape, np.int8, os_scale, os_zp)
    o = b.s.UnidirectionalSequenceLSTMOptionsT()
    o.fusedActivationFunction, o.cellClip, o.projClip, o.timeMajor = 4, cell_clip, proj_clip, time_major
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [y], "UnidirectionalSequenceLSTMOptions", o, intermediates=inter)
    b.version("UNIDIRECTIONAL_SEQUENCE_LSTM", 2)
    return b.finish([x], [y])


HANDMADE = [
    dict(seed=1, batch=1, steps=4, n_input=3, n_cell=5),
    dict(seed=2, batch=1, steps=5, n_input=4, n_cell=6, cifg=True),
    dict(seed=3, batch=2, steps=3, n_input=5, n_cell=4, peephole=True),
    dict(seed=4, batch=1, steps=6, n_input=3, n_cell=8, n_output=5, projection=True),
    dict(seed=5, batch=1, steps=4, n_input=6, n_cell=7, n_output=4, projection=True, peephole=True, cifg=True),
    dict(seed=6, batch=2, steps=5, n_input=3, n_cell=6, cell_clip=0.5),
    dict(seed=7, batch=1, steps=5, n_input=4, n_cell=8, n_output=6, projection=True, proj_clip=0.3),
    dict(seed=8, batch=3, steps=4, n_input=2, n_cell=5, time_major=True, peephole=True),
    dict(seed=9, batch=1, steps=3, n_input=4, n_cell=5, cell_log2=-15),
    dict(seed=10, batch=1, steps=3, n_input=4, n_cell=5, cell_log2=-10),
    dict(seed=11, batch=1, steps=4, n_input=3, n_cell=6, cell_log2=-16),
]


@pytest.mark.parametrize("options", HANDMADE, ids=[f"handmade{o['seed']}" for o in HANDMADE])
def test_handmade_lstm_variants_match_tflite(options):
    check(handmade_lstm(**options), invokes=8, seed=options["seed"])
