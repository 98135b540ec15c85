"""Tiled execution (tiling.py, usermod_c/tml_stage.c) and model inputs read
in place: bit-exact with TFLite's reference kernels for every stage the
converter can choose, on generated chains of convolutions, depthwise
convolutions and pools (odd sizes, strides, dilations, both paddings,
int8 and 16x8); the converter's schedule agrees with the loader's to the
byte; the loader refuses blobs whose stages or placements are inconsistent;
--ram-budget picks a plan that fits or fails without writing."""

import ctypes
import struct
import sys

import numpy as np
import pytest

import parity
from blobkit import fix_crc
from conftest import REPO
from tinyml_converter import blob_layout as bl
from tinyml_converter import cli, convert, tiling
from tinyml_converter.blob import read_blob, write_blob
from tinyml_converter.errors import ConversionError, ModelRefused
from tinyml_converter.host_runtime import HostModel
from tinyml_converter.lowering import lower
from tinyml_converter.tflite_model import read_tflite

pytest.importorskip("tensorflow")
pytest.importorskip("keras")
sys.path.insert(0, str(REPO / "tests"))

SOURCE = parity.source_of(__file__, parity.__file__)


def _random_chain(seed):
    """A Keras chain of 3-6 spatial layers with random windows on an odd
    image; each layer keeps at least one output row."""
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(9, 30)), int(rng.integers(3, 12))
    c = int(rng.integers(1, 5))
    shape = (h, w, c)
    layers = []
    rows = h
    for _ in range(int(rng.integers(3, 7))):
        kind = str(rng.choice(["conv", "dw", "dw", "avg", "max", "gelu", "leaky"]))
        if kind in ("gelu", "leaky"):  # element-wise: LUT (LUT_S16 for gelu in 16x8)
            layers.append((kind, 1, 1, 1, "same", 0))
            continue
        k = int(rng.integers(1, 5))
        dil = int(rng.choice([1, 1, 1, 2])) if kind in ("conv", "dw") else 1
        stride = 1 if dil > 1 else int(rng.choice([1, 1, 2, 3]))
        padding = str(rng.choice(["same", "valid"]))
        eff = (k - 1) * dil + 1
        if padding == "valid" and (rows < eff or w < eff):
            padding = "same"
        out_rows = -(-rows // stride) if padding == "same" else (rows - eff) // stride + 1
        out_w = -(-w // stride) if padding == "same" else (w - eff) // stride + 1
        if out_rows < 1 or out_w < 1:
            continue
        layers.append((kind, k, stride, dil, padding, int(rng.integers(1, 7))))
        rows, w = out_rows, out_w
    return shape, layers


def _chain_model(seed):
    shape, layers = _random_chain(seed)

    def build():
        import keras

        keras.utils.set_random_seed(seed)
        L = keras.layers
        inp = keras.Input(shape)
        x = inp
        for kind, k, stride, dil, padding, filters in layers:
            if kind == "gelu":
                x = L.Activation("gelu")(x)
            elif kind == "leaky":
                x = L.LeakyReLU(negative_slope=0.3)(x)
            elif kind == "conv":
                x = L.Conv2D(filters, k, strides=stride, dilation_rate=dil, padding=padding, activation="relu")(x)
            elif kind == "dw":
                x = L.DepthwiseConv2D(k, strides=stride, dilation_rate=dil, padding=padding)(x)
            else:
                pool = L.AveragePooling2D if kind == "avg" else L.MaxPooling2D
                x = pool(k, strides=stride, padding=padding)(x)
        model = keras.Model(inp, x)
        return model, [np.random.default_rng(seed).normal(size=(32, *shape)).astype(np.float32)]
    return build, layers


def _blob_with(graph, stages, external):
    g = convert.staged_graph(graph, stages, external=external)
    pl, (offsets, scratch), _, order = convert.plan_graph(g)
    return write_blob(g, order, offsets, pl.arena_size, scratch=scratch), pl.arena_size


def _every_stage(graph):
    """Each prefix of each chain at every band height, and each chain's
    stages that start past its first op."""
    _, _, _, order = convert.plan_graph(graph)
    stages = tiling.candidates(graph, order)
    for chain in tiling.chains(graph, order):
        for start in range(1, len(chain) - 1):
            stages.append(tiling.make_stage(graph, chain[start:], 1))
    return [s for s in stages if s is not None]


CHAINS = [(seed, int16) for seed in range(12) for int16 in (False,)] + [(seed, True) for seed in (40, 41, 42)]


@pytest.mark.parametrize("seed,int16", CHAINS, ids=[f"chain{s}{'_16x8' if i else ''}" for s, i in CHAINS])
def test_every_stage_is_bit_exact(seed, int16):
    build, layers = _chain_model(seed)
    tfl = parity.quantize(build, parity.cache_key("tiling", seed, SOURCE), int16=int16)
    oracle = parity.Oracle(tfl)
    rng = np.random.default_rng(seed)
    inputs = parity.random_inputs(oracle, rng, 4)
    expected = [oracle.run(xs) for xs in inputs]
    graph = lower(read_tflite(tfl))
    stages = _every_stage(graph)
    assert stages, f"no stage in {layers}"
    for stage in stages:
        blob, _ = _blob_with(graph, [stage], external=True)
        info = read_blob(blob)
        model = HostModel(blob)
        # The converter's schedule sizes each band as the loader does.
        for t in info.tensors:
            if t["placement"] == "band":
                assert model._lib.tml_model_tensor_bytes(model._m, t["index"]) == t["arena_bytes"]
        for xs, want in zip(inputs, expected):
            got = parity.run_host(model, oracle, xs)
            problem = parity.compare(want, got)
            assert problem is None, f"stage {stage.members} band {stage.band_rows} of {layers}: {problem}"


def _vww_graph():
    return lower(read_tflite(parity.bench_tflite("vww_mobilenet")))


def test_vww_fits_half_the_tensor_level_bound_bit_exact():
    """The issue's target: MLPerf's VWW MobileNetV1-0.25 at 96x96 in an
    arena of at most 27,648 bytes, half the untiled plan's lower bound."""
    tfl = parity.bench_tflite("vww_mobilenet")
    blob, report = convert.convert_tflite(tfl, ram_budget=27648)
    assert report.arena_size <= 27648 and report.arena_untiled > 2 * 27648 - 4096
    assert "tiled" in report.tiling
    rng = np.random.default_rng(3)
    _, tfl_outs, host_outs = parity.evaluate(tfl, lambda o: parity.random_inputs(o, rng, 3), {"ram_budget": 27648})
    for t, h in zip(tfl_outs, host_outs):
        assert parity.compare(t, h) is None


@pytest.mark.parametrize("name", sorted(__import__("models").MODELS))
def test_every_model_at_its_smallest_plan(name):
    """Each model of tests/models.py converted with --ram-budget min (inputs
    read in place, reshaped ones included; tiled where a chain allows):
    bit-exact with TFLite, and no larger than its plain plan."""
    import test_parity_models as pm

    tfl = pm._tflite(name)
    _, plain = convert.convert_tflite(tfl)
    _, smallest = convert.convert_tflite(tfl, ram_budget="min")
    assert smallest.arena_size <= plain.arena_size
    oracle, tfl_outs, host_outs = parity.evaluate(tfl, pm._input_sets, {"ram_budget": "min"})
    for i, (t, h) in enumerate(zip(tfl_outs, host_outs)):
        problem = parity.compare(t, h)
        assert problem is None, f"input set {i} ({smallest.tiling}): {problem}"


# ---- the loader ------------------------------------------------------------

@pytest.fixture(scope="module")
def tiled_blob():
    """A VWW blob with its first 8 ops tiled and its input read in place."""
    graph = _vww_graph()
    _, _, _, order = convert.plan_graph(graph)
    stage = tiling.make_stage(graph, tiling.chains(graph, order)[0][:8], 1)
    return _blob_with(graph, [stage], external=True)[0]


def _records(blob):
    """(position, opcode) of every op record."""
    h = dict(zip(bl.HEADER_FIELDS, bl.HEADER.unpack_from(blob, 0)))
    pos, out = h["ops_offset"], []
    for _ in range(h["op_count"]):
        opcode, _, _, _, size, _, _, _ = bl.OP_HEADER.unpack_from(blob, pos)
        out.append((pos, opcode))
        pos += size
    return h, out


def _tensor_at(blob, i):
    h = dict(zip(bl.HEADER_FIELDS, bl.HEADER.unpack_from(blob, 0)))
    return h["tensors_offset"] + i * bl.TENSOR.size


def _set_tensor(blob, i, **fields):
    blob = bytearray(blob)
    pos = _tensor_at(blob, i)
    values = dict(zip(bl.TENSOR_FIELDS, bl.TENSOR.unpack_from(blob, pos)))
    values.update(fields)
    bl.TENSOR.pack_into(blob, pos, *(values[f] for f in bl.TENSOR_FIELDS))
    return fix_crc(bytes(blob))


def _set_stage(blob, **fields):
    blob = bytearray(blob)
    _, records = _records(blob)
    pos = next(p for p, opcode in records if opcode == bl.OPCODES["STAGE"])
    st, names = bl.PARAMS["STAGE"]
    at = pos + bl.OP_HEADER.size + 4  # one input, one output: 4 bytes of indices
    values = dict(zip(names, st.unpack_from(blob, at)))
    values.update(fields)
    st.pack_into(blob, at, *(values[n] for n in names))
    return fix_crc(bytes(blob))


def _refused(blob, match):
    with pytest.raises(ModelRefused, match=match):
        HostModel(blob)


def test_loader_refuses_inconsistent_stages(tiled_blob):
    info = read_blob(tiled_blob)
    bands = [t for t in info.tensors if t["placement"] == "band"]
    flags = bl.TENSOR.unpack_from(tiled_blob, _tensor_at(tiled_blob, bands[0]["index"]))[-1]
    _refused(_set_tensor(tiled_blob, bands[0]["index"], flags=flags & ~bl.TENSOR_BAND), "outside the arena|not a band")
    _refused(_set_stage(tiled_blob, member_count=1), "fewer than 2")
    _refused(_set_stage(tiled_blob, member_count=40), "more than 32")
    _refused(_set_stage(tiled_blob, member_count=9), "chain")
    _refused(_set_stage(tiled_blob, band_rows=0), "no band rows")
    arena = info.header["arena_size"]
    _refused(_set_tensor(tiled_blob, bands[-1]["index"], offset=arena - 8), "band outside the arena")
    # A band read by an op outside its stage (the op after the stage reads the
    # stage's output: make that output a band).
    out = info.ops[[op["name"] for op in info.ops].index("STAGE")]["outputs"][0]
    flags = bl.TENSOR.unpack_from(tiled_blob, _tensor_at(tiled_blob, out))[-1]
    _refused(_set_tensor(tiled_blob, out, flags=flags | bl.TENSOR_BAND), "band")
    # Only model inputs may be external; never two placements at once.
    _refused(_set_tensor(tiled_blob, info.outputs[0], flags=bl.TENSOR_EXTERNAL, offset=0), "external")
    inp = info.inputs[0]
    _refused(_set_tensor(tiled_blob, inp, flags=bl.TENSOR_EXTERNAL | bl.TENSOR_BAND), "more than one")
    # An external tensor's offset names the input it reads: its own index for
    # the input, an input of its dtype and size for a reshape of it.
    _refused(_set_tensor(tiled_blob, inp, offset=1), "offset is not its input index")
    _refused(_set_tensor(tiled_blob, out, flags=bl.TENSOR_EXTERNAL, offset=0), "external tensor that is no model input")


def test_external_input_binding(tiled_blob):
    model = HostModel(tiled_blob)
    lib, m = model._lib, model._m
    assert model.inputs_external == [True]
    n = lib.tml_model_tensor_bytes(m, lib.tml_model_input_index(m, 0))
    # Not bound: invoke refuses rather than reading a NULL or stale pointer.
    assert lib.tml_model_invoke(m) == bl_status("BAD_TENSOR")
    buf = (ctypes.c_uint64 * (n // 8 + 2))()
    base = ctypes.addressof(buf)
    assert lib.tml_model_bind_input(m, 0, base + 4, n) == bl_status("ALIGNMENT")
    assert lib.tml_model_bind_input(m, 0, base, n - 1) == bl_status("BAD_SHAPE")
    assert lib.tml_model_bind_input(m, 0, base, n) == 0
    assert lib.tml_model_invoke(m) == 0
    # One invoke only: the caller's buffer is not kept.
    assert lib.tml_model_invoke(m) == bl_status("BAD_TENSOR")


def bl_status(name):
    names = ["OK", "TRUNCATED", "MAGIC", "VERSION", "CRC", "ALIGNMENT", "BAD_OFFSET", "BAD_SHAPE",
             "BAD_PARAM", "UNSUPPORTED_OP", "ARENA_TOO_SMALL", "BAD_TENSOR"]
    return names.index(name)


def test_mutated_tiled_blobs_never_crash(tiled_blob):
    """Random byte flips in the stage and tensor tables: refused or run, never
    a crash (a crash would take this process down)."""
    h, records = _records(tiled_blob)
    hot = [p for p, opcode in records if opcode == bl.OPCODES["STAGE"]]
    regions = [(h["tensors_offset"], h["tensor_count"] * bl.TENSOR.size), (hot[0], 64),
               (h["ops_offset"], h["ops_size"])]
    rng = np.random.default_rng(5)
    x = np.zeros((1, 96, 96, 3), np.int8)
    for trial in range(300):
        start, size = regions[trial % len(regions)]
        blob = bytearray(tiled_blob)
        for _ in range(int(rng.integers(1, 4))):
            blob[start + int(rng.integers(0, size))] ^= 1 << int(rng.integers(0, 8))
        try:
            model = HostModel(fix_crc(bytes(blob)))
        except ModelRefused:
            continue
        try:
            model.invoke(x)
        except (ModelRefused, ValueError):
            pass


# ---- --ram-budget ------------------------------------------------------------

def test_budget_picks_the_cheapest_plan_that_fits():
    tfl = parity.bench_tflite("vww_mobilenet")
    _, plain = convert.convert_tflite(tfl)
    _, roomy = convert.convert_tflite(tfl, ram_budget=plain.arena_size)
    assert roomy.arena_size == plain.arena_size and roomy.tiling == "untiled"
    _, external = convert.convert_tflite(tfl, ram_budget=plain.arena_size - 1)
    assert external.arena_size < plain.arena_size
    with pytest.raises(ConversionError, match=r"--ram-budget 1000: no plan fits; the smallest arena found is \d+"):
        convert.convert_tflite(tfl, ram_budget=1000)


def test_cli_ram_budget(tmp_path, capsys):
    tfl = tmp_path / "vww.tflite"
    tfl.write_bytes(parity.bench_tflite("vww_mobilenet"))
    out = tmp_path / "vww.tinyml"
    assert cli.main(["convert", str(tfl), "-o", str(out), "--ram-budget", "27648"]) == 0
    said = capsys.readouterr().out
    assert "--ram-budget 27648:" in said and "tiled" in said
    assert read_blob(out.read_bytes()).header["arena_size"] <= 27648
    assert cli.main(["inspect", str(out)]) == 0
    said = capsys.readouterr().out
    assert "plan: input 0 read in place" in said and "untiled      lower bound 5" in said
    assert cli.main(["inspect", str(out), "--json"]) == 0
    import json

    d = json.loads(capsys.readouterr().out)
    assert d["stages"] and d["stages"][0]["bands"] and d["arena_lower_bound_untiled"] > 2 * d["arena_bytes"]
    small = tmp_path / "small.tinyml"
    assert cli.main(["convert", str(tfl), "-o", str(small), "--ram-budget", "1000"]) != 0
    assert not small.exists()
    assert "no plan fits" in capsys.readouterr().err
