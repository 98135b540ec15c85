"""Whole-model parity with TFLite's reference kernels, bit for bit, on the
models of tests/models.py: random int8 inputs (the full range, both extremes
included) and quantised calibration samples (realistic activations)."""

import sys

import numpy as np
import pytest

import parity
from conftest import REPO

pytest.importorskip("tensorflow")
pytest.importorskip("keras")
sys.path.insert(0, str(REPO / "tests"))
import models  # noqa: E402

SOURCE = parity.source_of(models.__file__, parity.__file__)


def _tflite(name):
    def build():
        model, calib, _labels = models.MODELS[name]()
        return model, calib
    return parity.quantize(build, parity.cache_key("model", name, SOURCE),
                           int16=getattr(models.MODELS[name], "int16", False))


def blob_options(name) -> dict:
    """convert_tflite options the model's builder asks for (a RAM budget,
    pre-widened FULLY_CONNECTED weights)."""
    builder = models.MODELS[name]
    options = {key: getattr(builder, key) for key in ("ram_budget", "fc_weights") if hasattr(builder, key)}
    return options


def _input_sets(oracle):
    rng = np.random.default_rng(11)
    sets = parity.random_inputs(oracle, rng, 5)
    # Realistic activations: samples of the models' calibration distribution
    # (models._calib), quantised with the model's own input scale.
    calib = [models._calib(s[1:], n=3, seed=5) for s in oracle.input_shapes]
    for i in range(3):
        sets.append([oracle.quantize_input(k, a[i]) for k, a in enumerate(calib)])
    return sets


@pytest.mark.parametrize("name", list(models.MODELS))
def test_model_parity(name):
    tfl = _tflite(name)
    oracle, tfl_outs, host_outs = parity.evaluate(tfl, _input_sets, blob_options(name))
    problems = []
    for i, (t, h) in enumerate(zip(tfl_outs, host_outs)):
        p = parity.compare(t, h)
        if p:
            problems.append(f"input set {i}: {p}")
    assert not problems, f"{name}: " + "\n".join(problems)


def test_keras_to_tflite_multi_input_calibration_order():
    """keras_to_tflite must feed each input its own calibration samples, even
    though TFLite orders a Keras model's inputs its own way. Inputs of
    different shapes make a mix-up fail loudly."""
    convert = pytest.importorskip("tinyml_converter.convert", reason="converter not written yet")
    import keras

    keras.utils.set_random_seed(3)
    a = keras.Input((4, 4, 3), name="in_a")
    b = keras.Input((5, 2), name="in_b")
    c = keras.Input((6,), name="in_c")
    out = keras.layers.Concatenate()([
        keras.layers.Flatten()(keras.layers.Conv2D(2, 3)(a)),
        keras.layers.Flatten()(keras.layers.Conv1D(2, 3)(b)),
        keras.layers.Dense(3)(c),
    ])
    model = keras.Model([a, b, c], out)
    rng = np.random.default_rng(0)
    # Input k gets values of magnitude ~10^k so its quantisation scale shows which data it saw.
    calib = [rng.normal(size=(16, *s)).astype(np.float32) * 10.0 ** k
             for k, s in enumerate([(4, 4, 3), (5, 2), (6,)])]
    tfl = convert.keras_to_tflite(model, calib)
    oracle = parity.Oracle(tfl)
    scales = [d["quantization"][0] for d in oracle.in_details]
    assert scales[0] < scales[1] < scales[2], f"input scales {scales}: calibration data mixed up"


def test_add_tables_reserved_only_where_the_arena_allows(monkeypatch):
    """ADD's optional tables (scratch.optional()) never enlarge the arena:
    residual_block's second ADD gets them, its first (whose step is the
    arena's peak with them) does not, and reserving both would cost 224
    bytes. Parity with the tables in use is test_model_parity's."""
    from tinyml_converter import convert
    from tinyml_converter.blob import read_blob

    tfl = _tflite("residual_block")
    blob, report = convert.convert_tflite(tfl, name="residual_block")
    tables = [op.get("scratch") for op in read_blob(blob).ops if op["name"] == "ADD"]
    assert tables[0] is None and tables[1] is not None and tables[1][1] == 2048, tables
    monkeypatch.setattr(convert, "scratch_optional", lambda *a: 0)
    assert convert.convert_tflite(tfl, name="residual_block")[1].arena_size == report.arena_size
    monkeypatch.setattr(convert, "scratch_optional", lambda op, params, dims: 2048 if op == "ADD" else 0)
    monkeypatch.setattr(convert, "OPTIONAL_SCRATCH_TRIES", 0)
    assert convert.convert_tflite(tfl, name="residual_block")[1].arena_size == report.arena_size
    plan = convert._plan_graph
    monkeypatch.setattr(convert, "_plan_graph", lambda g, chosen: plan(g, range(len(g.ops))))
    assert convert.convert_tflite(tfl, name="residual_block")[1].arena_size == report.arena_size + 224
