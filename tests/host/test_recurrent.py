"""Keras 3 recurrent models (LSTM, GRU, SimpleRNN) through the converter.

Keras 3 traces a recurrent layer as a loop that TFLite cannot quantise; the
converter rebuilds a model whose recurrent layers are all plain LSTMs in
tf_keras, where TFLite fuses each into one UNIDIRECTIONAL_SEQUENCE_LSTM, and
any other with the layers unrolled (recurrent.py). Two oracles: Keras itself says the rebuilt model computes the same function as
the user's (float outputs), and TFLite's reference kernels give the bytes of
the int8 model (bit for bit)."""

import numpy as np
import pytest

import parity

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
from tinyml_converter import convert  # noqa: E402
from tinyml_converter.errors import ConversionError  # noqa: E402
from tinyml_converter.recurrent import lstm_in_tf_keras, unroll_recurrent  # noqa: E402
from tinyml_converter.tflite_model import read_tflite  # noqa: E402

SOURCE = parity.source_of(__file__, parity.__file__)


def _layer(kind, units, rng, return_sequences):
    L = keras.layers
    options = {"return_sequences": return_sequences}
    if kind == "LSTM":
        options["unit_forget_bias"] = bool(rng.integers(2))
        options["recurrent_activation"] = str(rng.choice(["sigmoid", "hard_sigmoid"]))
        options["activation"] = str(rng.choice(["tanh", "relu"]))
    elif kind == "GRU":
        options["reset_after"] = bool(rng.integers(2))
        options["recurrent_activation"] = str(rng.choice(["sigmoid", "hard_sigmoid"]))
    else:
        options["activation"] = str(rng.choice(["tanh", "relu"]))
    options["go_backwards"] = bool(rng.integers(4) == 0)
    options["use_bias"] = bool(rng.integers(5) != 0)
    return getattr(L, kind)(units, **options)


def random_recurrent_case(seed):
    """A generated model: 1 or 2 recurrent layers of a random kind, odd sizes,
    sometimes behind a Conv1D or inside Bidirectional, every option Keras
    gives these layers that TFLite can express."""
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    L = keras.layers
    steps, features = int(rng.integers(2, 11)), int(rng.integers(1, 6))
    inp = keras.Input((steps, features))
    x = inp
    if rng.integers(4) == 0 and steps >= 4:
        x = L.Conv1D(int(rng.integers(2, 7)), 3, activation="relu")(x)
    depth = int(rng.integers(1, 3))
    for k in range(depth):
        kind = str(rng.choice(["LSTM", "GRU", "SimpleRNN"]))
        last = k == depth - 1
        layer = _layer(kind, int(rng.integers(1, 10)), rng, return_sequences=not last or bool(rng.integers(2)))
        x = L.Bidirectional(layer)(x) if rng.integers(5) == 0 else layer(x)
    if len(x.shape) == 3:
        x = L.Flatten()(x)
    out = L.Dense(int(rng.integers(1, 5)))(x)
    calib = rng.normal(size=(32, steps, features)).astype(np.float32)
    return keras.Model(inp, out), calib


CASES = list(range(12))


@pytest.mark.parametrize("seed", CASES)
def test_unrolled_model_computes_the_same_function(seed):
    model, calib = random_recurrent_case(seed)
    rebuilt, notes = unroll_recurrent(model, [calib.shape])
    assert notes and all("unrolled" in n for n in notes)
    x = calib[:1]
    np.testing.assert_allclose(np.asarray(rebuilt(x)), np.asarray(model(x)), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("seed", CASES)
def test_recurrent_random_parity(seed):
    def build():
        return random_recurrent_case(seed)
    tfl = parity.quantize(build, parity.cache_key("recurrent", seed, SOURCE))
    rng = np.random.default_rng(seed)
    oracle, tfl_outs, host_outs = parity.evaluate(tfl, lambda o: parity.random_inputs(o, rng, 6))
    # go_backwards and Bidirectional reverse the sequence with REVERSE_V2,
    # whose int8 version BUILTIN_REF lacks: then TFLite's default kernels
    # without XNNPACK are the oracle (parity.Oracle); it only moves bytes.
    assert oracle.resolver == "BUILTIN_REF"
    problems = [p for p in (parity.compare(a, b) for a, b in zip(tfl_outs, host_outs)) if p]
    assert not problems, f"seed {seed}: {problems}"


def test_open_sequence_length_is_taken_from_the_calibration_data():
    keras.utils.set_random_seed(0)
    inp = keras.Input((None, 3))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.GRU(4, name="gru_open")(inp)))
    calib = np.random.default_rng(0).normal(size=(8, 7, 3)).astype(np.float32)
    notes = []
    tfl = convert.keras_to_tflite(model, calib, notes=notes)
    assert len(notes) == 1 and "GRU 'gru_open' unrolled over 7 time steps" in notes[0]
    g = read_tflite(tfl)
    assert tuple(g.tensors[g.inputs[0]].shape) == (1, 7, 3)
    assert not any(op.name == "WHILE" for op in g.ops)


def test_open_sequence_length_without_calibration_shape_is_refused():
    inp = keras.Input((None, 3))
    model = keras.Model(inp, keras.layers.LSTM(4)(inp))
    with pytest.raises(ConversionError, match=r"LSTM layer '.*'.*fixed sequence length"):
        unroll_recurrent(model, None)


def test_stateful_gru_is_refused_naming_it():
    inp = keras.Input((5, 2), batch_size=1)
    model = keras.Model(inp, keras.layers.GRU(3, stateful=True, name="memory")(inp))
    calib = np.zeros((4, 5, 2), np.float32)
    with pytest.raises(ConversionError, match=r"GRU \(Keras layer 'memory'\): stateful=True is not supported"):
        convert.keras_to_tflite(model, calib)


def random_lstm_case(seed):
    """A generated Keras 3 model whose recurrent layers are all LSTMs with
    TFLite's activations: Sequential or functional, 1 to 3 LSTMs, odd sizes,
    sometimes a Conv1D in front or two pooled heads behind, every LSTM
    option that keeps the fused form."""
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    L = keras.layers
    steps, features = int(rng.integers(1, 13)), int(rng.integers(1, 8))
    layers = []
    if rng.integers(4) == 0 and steps >= 4:
        layers.append(L.Conv1D(int(rng.integers(2, 7)), 3, activation="relu"))
    depth = int(rng.integers(1, 4))
    for k in range(depth):
        layers.append(L.LSTM(int(rng.integers(1, 20)), return_sequences=k < depth - 1 or bool(rng.integers(2)),
                             go_backwards=bool(rng.integers(4) == 0), use_bias=bool(rng.integers(5) != 0),
                             unit_forget_bias=bool(rng.integers(2))))
    calib = rng.normal(size=(32, steps, features)).astype(np.float32)
    if rng.integers(2):
        model = keras.Sequential([keras.Input((steps, features)), *layers, L.Flatten(), L.Dense(int(rng.integers(1, 5)))])
        return model, calib
    inp = keras.Input((steps, features))
    x = inp
    for layer in layers:
        x = layer(x)
    if len(x.shape) == 3 and rng.integers(2):
        x = L.Concatenate()([L.GlobalAveragePooling1D()(x), L.GlobalMaxPooling1D()(x)])
    elif len(x.shape) == 3:
        x = L.Flatten()(x)
    return keras.Model(inp, L.Dense(int(rng.integers(1, 5)), activation="softmax")(x)), calib


LSTM_CASES = list(range(10))


@pytest.mark.parametrize("seed", LSTM_CASES)
def test_lstm_model_converts_fused_and_bit_exact(seed):
    """Keras says the tf_keras rebuild is the same function; the .tflite it
    gives holds the fused op and no loop; TFLite's kernels on it give the
    bytes tinyml gives."""
    model, calib = random_lstm_case(seed)
    rebuilt, notes, stateful = lstm_in_tf_keras(model, [calib.shape], calib)
    assert not stateful and notes and all("fused UNIDIRECTIONAL_SEQUENCE_LSTM" in n for n in notes)
    x = calib[:4]
    for k in range(len(x)):
        np.testing.assert_allclose(np.asarray(rebuilt(x[k:k + 1])), np.asarray(model(x[k:k + 1])),
                                   rtol=1e-4, atol=1e-5)
    tfl = parity.quantize(lambda: (model, calib), parity.cache_key("fused-lstm-keras3", seed, SOURCE))
    ops = [op.name for op in read_tflite(tfl).ops]
    assert ops.count("UNIDIRECTIONAL_SEQUENCE_LSTM") == sum(isinstance(l, keras.layers.LSTM) for l in model.layers)
    assert "WHILE" not in ops
    rng = np.random.default_rng(seed)
    oracle, tfl_outs, host_outs = parity.evaluate(tfl, lambda o: parity.random_inputs(o, rng, 6))
    assert oracle.resolver == "BUILTIN_REF"
    problems = [p for p in (parity.compare(a, b) for a, b in zip(tfl_outs, host_outs)) if p]
    assert not problems, f"seed {seed}: {problems}"


def test_lstm_with_other_activations_is_unrolled_not_fused():
    """TFLite's integer LSTM computes tanh and sigmoid whatever the layer
    says, so such a layer must not be fused."""
    inp = keras.Input((4, 2))
    model = keras.Model(inp, keras.layers.LSTM(3, activation="relu")(inp))
    assert lstm_in_tf_keras(model, [(8, 4, 2)], np.zeros((8, 4, 2), np.float32)) is None


def _converted(tmp_path, model, calib):
    from tinyml_converter.host_runtime import HostModel

    src, out = tmp_path / "m.keras", tmp_path / "m.tinyml"
    model.save(src)
    report = convert.convert_file(src, out, calib=calib, keep_tflite=True)
    return HostModel(out.read_bytes()), out.with_suffix(".tflite").read_bytes(), report


def test_stateless_lstm_restarts_at_every_invoke(tmp_path):
    """stateful=False (Keras' default): each call is a whole window from the
    zero state, so the same window gives the same answer every time; TFLite
    gives that answer after reset_all_variables()."""
    keras.utils.set_random_seed(4)
    inp = keras.Input((6, 3))
    model = keras.Model(inp, keras.layers.Dense(3)(keras.layers.LSTM(7)(inp)))
    calib = np.random.default_rng(4).normal(size=(24, 6, 3)).astype(np.float32)
    host, tfl, report = _converted(tmp_path, model, calib)
    assert any("fused" in n for n in report.notes)
    oracle = parity.Oracle(tfl)
    rng = np.random.default_rng(9)
    windows = [[rng.integers(-128, 128, size=s, dtype=np.int8) for s in oracle.input_shapes] for _ in range(4)]
    for x in windows + windows:
        oracle.it.reset_all_variables()
        assert parity.compare(oracle.run(x), parity.run_host(host, oracle, x)) is None


def test_stateful_lstm_carries_its_state(tmp_path):
    """stateful=True: the state survives from one invoke to the next, as in
    Keras and in TFLite without a reset; Model.reset() starts over."""
    keras.utils.set_random_seed(5)
    inp = keras.Input((1, 3), batch_size=1)
    model = keras.Model(inp, keras.layers.LSTM(6, stateful=True, name="memory")(inp))
    calib = np.random.default_rng(5).normal(size=(24, 1, 3)).astype(np.float32)
    host, tfl, report = _converted(tmp_path, model, calib)
    assert any("stateful" in n for n in report.notes)
    oracle = parity.Oracle(tfl)
    rng = np.random.default_rng(10)
    frames = [[rng.integers(-128, 128, size=s, dtype=np.int8) for s in oracle.input_shapes] for _ in range(6)]
    for x in frames:
        assert parity.compare(oracle.run(x), parity.run_host(host, oracle, x)) is None
    oracle.it.reset_all_variables()
    host.reset()
    first_tfl, first = oracle.run(frames[0]), parity.run_host(host, oracle, frames[0])
    again_tfl, again = oracle.run(frames[0]), parity.run_host(host, oracle, frames[0])
    assert parity.compare(first_tfl, first) is None and parity.compare(again_tfl, again) is None
    assert not np.array_equal(first_tfl[0], again_tfl[0]), "the state changes nothing here: pick another seed"


def test_model_without_recurrent_layers_is_left_alone():
    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(2)(inp))
    same, notes = unroll_recurrent(model, [(1, 4)])
    assert same is model and notes == []


def test_cli_says_what_it_did(tmp_path, capsys):
    from tinyml_converter import cli

    keras.utils.set_random_seed(1)
    inp = keras.Input((6, 2))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.LSTM(5, name="lstm_a")(inp)))
    src = tmp_path / "rnn.keras"
    model.save(src)
    np.save(tmp_path / "calib.npy", np.random.default_rng(0).normal(size=(16, 6, 2)).astype(np.float32))
    out = tmp_path / "rnn.tinyml"
    rc = cli.main(["convert", str(src), "--calib", str(tmp_path / "calib.npy"), "-o", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "LSTM 'lstm_a' converted through tf_keras as one fused UNIDIRECTIONAL_SEQUENCE_LSTM" in err
    assert out.exists()


def _island(requant_scale):
    """int8 x -> DEQUANTIZE -> float SPLIT -> QUANTIZE (scale requant_scale) x2
    -> ADD, as TF 2.21's quantiser leaves at random in unrolled GRUs."""
    from tinyml_converter.tflite_model import FLOAT32, INT8, TflModel, TflOp, TflTensor

    q = dict(scales=[0.0123], zero_points=[-7])
    t = [TflTensor(0, "x", (1, 6), INT8, **q), TflTensor(1, "xf", (1, 6), FLOAT32),
         TflTensor(2, "axis", (), 2, data=np.array(1, np.int32)),
         TflTensor(3, "a", (1, 3), FLOAT32), TflTensor(4, "b", (1, 3), FLOAT32),
         TflTensor(5, "aq", (1, 3), INT8, scales=[requant_scale], zero_points=[-7]),
         TflTensor(6, "bq", (1, 3), INT8, scales=[requant_scale], zero_points=[-7]),
         TflTensor(7, "sum", (1, 3), INT8, **q)]
    ops = [TflOp(0, "DEQUANTIZE", [0], [1], None, None), TflOp(1, "SPLIT", [2, 1], [3, 4], None, None),
           TflOp(2, "QUANTIZE", [3], [5], None, None), TflOp(3, "QUANTIZE", [4], [6], None, None),
           TflOp(4, "ADD", [5, 6], [7], None, None)]
    return TflModel(t, ops, [0], [7], None, [])


def test_float_island_that_restores_its_quantisation_runs_on_int8():
    from tinyml_converter.lowering import fold_float_islands
    from tinyml_converter.tflite_model import INT8

    folded = fold_float_islands(_island(0.0123))
    assert [op.name for op in folded.ops] == ["SPLIT", "ADD"]
    assert folded.ops[0].inputs == [2, 0] and folded.ops[1].inputs == [3, 4]
    assert all(folded.tensors[i].type == INT8 and folded.tensors[i].scales == [0.0123] for i in (3, 4))


def test_float_island_that_requantises_is_left_for_the_lowering_to_refuse():
    from tinyml_converter.lowering import fold_float_islands

    model = _island(0.02)
    assert fold_float_islands(model) is model


def test_dequantize_then_quantize_to_the_same_parameters_is_the_identity():
    """The claim fold_float_islands rests on, checked as TFLite computes it
    (float32 (q - zp) * scale, then round(x / scale) + zp), on every int8
    value and many scales."""
    rng = np.random.default_rng(0)
    q = np.arange(-128, 128, dtype=np.int32)
    for scale in np.concatenate([rng.uniform(1e-6, 10, 500), 2.0 ** np.arange(-20, 5)]).astype(np.float32):
        for zp in (-128, -7, 0, 127):
            x = (q - zp).astype(np.float32) * scale
            back = np.round(x / scale).astype(np.int32) + zp
            assert np.array_equal(back, q), (scale, zp)
