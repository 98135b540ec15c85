"""tinyml convert --embedding: a layer's output kept as one more graph output
(metadata EMBEDDING) for Model.embed().

Oracle: TFLite's reference kernels. The real output must keep the bytes
TFLite computes for the model converted *without* an embedding, and the
embedding must be the bytes TFLite computes for that layer's tensor."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from parity import Oracle

from tinyml_converter.blob import read_blob
from tinyml_converter.cli import main
from tinyml_converter.convert import convert_file, keras_to_tflite, tflite_to_blob
from tinyml_converter.errors import UsageError
from tinyml_converter.host_runtime import HostModel
from tinyml_converter.quant import dequantize

REPO = Path(__file__).resolve().parents[2]


def micropython():
    p = Path(os.environ.get("TINYML_MICROPYTHON") or REPO / "build" / "unix" / "micropython")
    if not p.exists():
        pytest.skip(f"{p} not built (make firmware BOARD=unix)")
    return p


def _model(kind, seed):
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((24, 3), name="acc")
    if kind == "conv":
        x = keras.layers.Conv1D(6, 3, activation="relu", name="conv")(inp)
        x = keras.layers.Flatten(name="flat")(x)
        x = keras.layers.Dense(12, activation="relu", name="embed")(x)
        out = keras.layers.Dense(4, activation="softmax", name="head")(x)
    elif kind == "split_act":
        # The embedding is a Dense whose ReLU is its own layer: marking the
        # Dense must not keep TFLite from fusing the ReLU on the real path.
        x = keras.layers.Flatten(name="flat")(inp)
        x = keras.layers.Dense(10, name="pre")(x)
        x = keras.layers.Activation("relu", name="embed")(x)
        out = keras.layers.Dense(3, name="head")(x)
    else:  # pooled conv features, no softmax
        x = keras.layers.Conv1D(8, 5, activation="relu", name="conv")(inp)
        x = keras.layers.GlobalAveragePooling1D(name="embed")(x)
        out = keras.layers.Dense(5, name="head")(x)
    return keras.Model(inp, out)


CASES = [("conv", "embed", 1), ("conv", "conv", 2), ("split_act", "embed", 3),
         ("split_act", "pre", 4), ("pool", "embed", 5)]


@pytest.mark.parametrize("kind,layer,seed", CASES)
def test_keras_embedding_keeps_outputs_and_matches_tflite(kind, layer, seed, tmp_path):
    import keras

    model = _model(kind, seed)
    rng = np.random.default_rng(seed)
    calib = rng.standard_normal((40, 24, 3)).astype(np.float32)
    path = tmp_path / "m.keras"
    model.save(path)
    plain = Oracle(keras_to_tflite(model, calib))
    # TFLite's own value of the layer's tensor: the layer as the output of
    # a model quantised from the same calibration run.
    both = keras.Model(model.inputs, [model.outputs[0], model.get_layer(layer).output])
    both_oracle = Oracle(keras_to_tflite(both, calib))

    convert_file(path, tmp_path / "m.tinyml", calib=calib, embedding=layer)
    data = (tmp_path / "m.tinyml").read_bytes()
    info = read_blob(data)
    assert info.meta["embedding"] == 1 and len(info.outputs) == 2
    host = HostModel(data)
    inputs = [rng.integers(-128, 128, (1, 24, 3), dtype=np.int8) for _ in range(20)]
    inputs[0][:] = -128
    inputs[1][:] = 127
    for x in inputs:
        y, emb = host.invoke(x)
        (want,) = plain.run([x])
        assert np.array_equal(y, want), f"{kind}/{layer}: the real output changed"
        want_y, want_emb = both_oracle.run([x])
        assert np.array_equal(y, want_y)
        assert np.array_equal(emb.reshape(-1), want_emb.reshape(-1)), f"{kind}/{layer}: embedding differs"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A converted .keras model, its plain .tflite and its calibration data."""
    d = tmp_path_factory.mktemp("emb")
    model = _model("conv", 7)
    calib = np.random.default_rng(7).standard_normal((40, 24, 3)).astype(np.float32)
    model.save(d / "m.keras")
    np.save(d / "calib.npy", calib)
    tfl = keras_to_tflite(model, calib)
    (d / "m.tflite").write_bytes(tfl)
    return d, tfl


def test_tflite_input_takes_a_tensor_name(small):
    d, tfl = small
    from tinyml_converter.tflite_model import read_tflite

    import tensorflow as tf

    m = read_tflite(tfl)
    fc = [op for op in m.ops if op.name == "FULLY_CONNECTED"][0]
    name = m.tensors[fc.outputs[0]].name
    blob = tflite_to_blob(tfl, embedding=name)
    host = HostModel(blob)
    it = tf.lite.Interpreter(model_content=tfl, experimental_preserve_all_tensors=True,
                             experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    rng = np.random.default_rng(1)
    for _ in range(10):
        x = rng.integers(-128, 128, (1, 24, 3), dtype=np.int8)
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        y, emb = host.invoke(x)
        assert np.array_equal(y, it.get_tensor(it.get_output_details()[0]["index"]))
        assert np.array_equal(emb, it.get_tensor(fc.outputs[0]))


def test_unknown_names_are_refused_with_the_choices(small, tmp_path):
    d, tfl = small
    with pytest.raises(UsageError, match=r"no tensor of that name.*MatMul"):
        tflite_to_blob(tfl, embedding="nonesuch")
    with pytest.raises(UsageError, match="only output"):
        from tinyml_converter.tflite_model import read_tflite

        m = read_tflite(tfl)
        tflite_to_blob(tfl, embedding=m.tensors[m.outputs[0]].name)
    with pytest.raises(UsageError, match="no layer of that name; its layers are: acc, conv, flat, embed, head"):
        convert_file(d / "m.keras", tmp_path / "x.tinyml", calib=np.load(d / "calib.npy"), embedding="emb")
    with pytest.raises(UsageError, match="already an output"):
        convert_file(d / "m.keras", tmp_path / "x.tinyml", calib=np.load(d / "calib.npy"), embedding="head")
    assert not (tmp_path / "x.tinyml").exists()


def test_cli_convert_and_inspect(small, tmp_path, capsys):
    d, _ = small
    out = tmp_path / "m.tinyml"
    assert main(["convert", str(d / "m.keras"), "--calib", str(d / "calib.npy"), "--embedding", "embed",
                 "-o", str(out), "--no-progress"]) == 0
    assert main(["inspect", str(out)]) == 0
    assert "output 1: [1, 12]" in capsys.readouterr().out.split("(embedding")[0]
    assert main(["convert", str(d / "m.keras"), "--calib", str(d / "calib.npy"), "--embedding", "nope",
                 "-o", str(tmp_path / "n.tinyml"), "--no-progress"]) == 2
    assert "its layers are: acc, conv, flat, embed, head" in " ".join(capsys.readouterr().err.split())


def test_model_embed_on_the_unix_firmware(small, tmp_path):
    """Model.predict()/output_shapes show the real output only; embed() gives
    the embedding dequantised, as TFLite's int8 values say."""
    d, _ = small
    out = tmp_path / "m.tinyml"
    convert_file(d / "m.keras", out, calib=np.load(d / "calib.npy"), embedding="embed")
    info = read_blob(out.read_bytes())
    host = HostModel(out.read_bytes())
    t_in = info.tensors[info.inputs[0]]
    x = np.random.default_rng(3).standard_normal(72).astype(np.float32)
    from tinyml_converter.quant import quantize

    y, emb = host.invoke(quantize(x, t_in["scale"], t_in["zero_point"]))
    t_y, t_e = info.tensors[info.outputs[0]], info.tensors[info.outputs[1]]
    want_y = dequantize(y, t_y["scale"], t_y["zero_point"]).reshape(-1)
    want_e = dequantize(emb, t_e["scale"], t_e["zero_point"]).reshape(-1)
    script = tmp_path / "t.py"
    script.write_text(
        "import tinyml\n"
        "from array import array\n"
        f"m = tinyml.load({str(out)!r})\n"
        f"x = array('f', {x.tolist()!r})\n"
        "print(m.output_shapes, m.output_shape, m.embedding_size)\n"
        "print(list(m.predict(x)))\n"
        "print(list(m.embed(x)))\n"
        "buf = array('f', bytes(4 * m.embedding_size))\n"
        "print(m.embed(x, buf) is buf, list(buf) == list(m.embed(x)))\n"
        "try:\n    m.embed(x, array('f', [0.0]))\nexcept ValueError as e:\n    print('refused', e)\n")
    env = {**os.environ, "MICROPYPATH": str(REPO / "python_lib")}
    res = subprocess.run([str(micropython()), str(script)], capture_output=True, text=True, env=env,
                         timeout=60)
    assert res.returncode == 0, res.stderr + res.stdout
    lines = res.stdout.splitlines()
    assert lines[0] == "((4,),) (4,) 12"
    np.testing.assert_allclose(eval(lines[1]), want_y, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(eval(lines[2]), want_e, rtol=1e-6, atol=1e-7)
    assert lines[3] == "True True"
    assert lines[4].startswith("refused tinyml: embed(out=...) needs 12 values, got 1")


def test_model_without_embedding_says_how_to_get_one(small, tmp_path):
    d, tfl = small
    out = tmp_path / "p.tinyml"
    out.write_bytes(tflite_to_blob(tfl))
    res = subprocess.run([str(micropython()), "-c",
                          f"import tinyml\nm = tinyml.load({str(out)!r})\nprint(m.embedding_size)\n"
                          "try:\n    m.embed([0.0] * 72)\nexcept ValueError as e:\n    print(e)\n"],
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "MICROPYPATH": str(REPO / "python_lib")})
    assert res.stdout.splitlines() == ["None", "tinyml: this model has no embedding output: convert it "
                                       "with tinyml convert ... --embedding LAYER"]
