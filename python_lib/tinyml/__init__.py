"""tinyml: int8 (and 16x8) model inference for MicroPython.

    import tinyml
    m = tinyml.load("gesture.tinyml")
    print(m.predict(window))

The numerics live in the `_tinyml` C module (firmware or native .mpy); this
package adds loading, shapes, labels and float in/out.
"""

from array import array

from _tinyml import FORMAT_VERSION, build_info, dequantize, quantize
import _tinyml

__version__ = "0.1.0"

_META_NAME = 1
_META_LABELS = 2
_META_NORMALIZE = 3
_META_EMBEDDING = 8


def _result(info, raw):
    """predict()'s value of one output: its raw int8 bytes (or int16
    values) dequantised to array('f'), or, for int32 indices, copied as
    array('i') (MicroPython
    builds an array from a bytearray's bytes as they are); a float32 output
    (scikit-learn models) is copied as it is."""
    if info[4] == "i":
        return array("i", raw)
    if info[4] == "f":
        return array("f", raw)
    return dequantize(raw, info[1], info[2], array("f", bytes(4 * len(raw))))


def _fill(info, values, raw):
    """One input's values into its buffer: quantised with the input's scale
    and zero point, or, for a float32 input (scikit-learn models), as they
    are."""
    if info[4] == "f":
        for i in range(len(raw)):
            raw[i] = values[i]
    else:
        quantize(values, info[1], info[2], raw)


def _buffer(info):
    """A buffer for one tensor: array('f') for float32, array('h') for
    int16, else bytearray."""
    return array(info[4], bytes(info[3])) if info[4] in ("f", "h") else bytearray(info[3])


def _drop_batch(shape):
    return shape[1:] if len(shape) > 1 else shape


class Model:
    """A loaded model. Create it with tinyml.load()."""

    # What is not needed to run is worked out on first use and kept on the
    # instance; until then these class defaults stand in, and the model costs
    # RAM for its arena and tables only (tinyml check counts on that).
    _raw = None
    _tensors = None
    _shapes = None
    _name = False
    _labels = False
    _embedding = False

    def __init__(self, buf, copied=False):
        core = _tinyml.Model(buf)
        self._core = core
        self._blob = buf
        # True when the weights are read where they lie (flash for a ROMFS
        # file): RAM holds only the arena and the tables.
        self.in_place = not copied and core.in_place()
        # A bound method stored on the instance: calling m.invoke() then
        # allocates nothing, which is what invoke(inp, out) promises.
        self.invoke = core.invoke
        self.arena_size = core.arena_size()

    def _io(self):
        """(inputs, outputs, every output), each a tuple of (shape, scale,
        zero point, bytes, typecode): typecode 'b' for int8, 'h' for int16
        (16x8 models), 'i' for the
        int32 indices of ARG_MAX / ARG_MIN, 'f' for the float32 tensors of
        scikit-learn models. `outputs` leaves out the embedding output
        (tinyml convert --embedding), which only embed() shows."""
        if self._tensors is None:
            core = self._core
            n_in, n_out = core.io_count()
            every = tuple(core.tensor(1, i) for i in range(n_out))
            k = self._embedding_index()
            self._tensors = (tuple(core.tensor(0, i) for i in range(n_in)),
                             every if k is None else every[:k] + every[k + 1:], every)
        return self._tensors

    def _embedding_index(self):
        if self._embedding is False:
            raw = self._core.meta(_META_EMBEDDING)
            k = raw[0] | raw[1] << 8 if raw is not None and len(raw) == 2 else None
            # A record naming no output is ignored rather than trusted.
            self._embedding = k if k is not None and k < self._core.io_count()[1] else None
        return self._embedding

    @property
    def _inputs(self):
        return self._io()[0]

    @property
    def _outputs(self):
        return self._io()[1]

    def _io_shapes(self):
        if self._shapes is None:
            self._shapes = (tuple(_drop_batch(t[0]) for t in self._inputs),
                            tuple(_drop_batch(t[0]) for t in self._outputs))
        return self._shapes

    @property
    def input_shapes(self):
        return self._io_shapes()[0]

    @property
    def output_shapes(self):
        return self._io_shapes()[1]

    @property
    def input_shape(self):
        return self._io_shapes()[0][0]

    @property
    def output_shape(self):
        return self._io_shapes()[1][0]

    @property
    def name(self):
        if self._name is False:
            raw = self._core.meta(_META_NAME)
            self._name = raw.decode() if raw is not None else None
        return self._name

    @property
    def labels(self):
        if self._labels is False:
            raw = self._core.meta(_META_LABELS)
            self._labels = tuple(raw.decode().split("\n")) if raw else None
        return self._labels

    def _buffers(self):
        """predict()'s raw input and output buffers, made on its first call:
        a program that only calls invoke() never pays for them (for a
        96x96 RGB model that is 27 KB, half the arena again)."""
        if self._raw is None:
            self._raw = (tuple(_buffer(t) for t in self._inputs),
                         tuple(_buffer(t) for t in self._io()[2]))
        return self._raw

    @property
    def input_scale(self):
        return self._inputs[0][1]

    @property
    def input_zero_point(self):
        return self._inputs[0][2]

    @property
    def output_scale(self):
        return self._outputs[0][1]

    @property
    def output_zero_point(self):
        return self._outputs[0][2]

    @property
    def normalize(self):
        """(mean, std) tuples the converter stored (tinyml convert --normalize), or None."""
        raw = self._core.meta(_META_NORMALIZE)
        if not raw:
            return None
        v = array("f", raw)
        n = len(v) // 2
        return tuple(v[:n]), tuple(v[n:])

    def predict(self, x):
        """Floats in (list, tuple, array('f'); a tuple of them for several
        inputs), dequantised array('f') out (a tuple for several outputs);
        an output of ARG_MAX / ARG_MIN indices comes out as array('i').
        A scikit-learn model takes its features as they are (float32, no
        quantisation) and returns array('f'): class scores in labels order,
        a regression value, or an outlier score (negative: outlier)."""
        self._run(x)
        raw_outs = self._buffers()[1]
        k = self._embedding_index()
        if k is not None:
            raw_outs = raw_outs[:k] + raw_outs[k + 1:]
        results = [_result(info, raw) for info, raw in zip(self._outputs, raw_outs)]
        return results[0] if len(results) == 1 else tuple(results)

    @property
    def embedding_size(self):
        """Values in embed()'s result, or None for a model without an embedding."""
        k = self._embedding_index()
        return None if k is None else self._io()[2][k][3]

    def embed(self, x, out=None):
        """Run the model on x (as predict() takes it) and return the
        embedding the converter kept (tinyml convert --embedding LAYER),
        dequantised to array('f'). Pass `out`, an array('f') of
        embedding_size values, to have it filled instead: then embed()
        makes no new result array."""
        k = self._embedding_index()
        if k is None:
            raise ValueError("tinyml: this model has no embedding output: convert it with "
                             "tinyml convert ... --embedding LAYER")
        self._run(x)
        info = self._io()[2][k]
        raw = self._buffers()[1][k]
        if out is None:
            out = array("f", bytes(4 * len(raw)))
        elif len(out) != len(raw):
            raise ValueError("tinyml: embed(out=...) needs %d values, got %d" % (len(raw), len(out)))
        return dequantize(raw, info[1], info[2], out)

    def _run(self, x):
        n_in = len(self._inputs)
        xs = (x,) if n_in == 1 else x
        if n_in > 1 and len(xs) != n_in:
            raise ValueError("tinyml: model has %d inputs, got %d: pass a tuple of %d sequences"
                             % (n_in, len(xs), n_in))
        raw_ins, raw_outs = self._buffers()
        for k, (info, raw, values) in enumerate(zip(self._inputs, raw_ins, xs)):
            try:
                n = len(values)
            except TypeError:
                n = -1
            if n >= 0 and n != len(raw):
                raise ValueError("tinyml: input %d has %d values, the model wants %d %s: "
                                 "flatten or cut your data to that length"
                                 % (k, n, len(raw), "x".join(str(d) for d in self.input_shapes[k])))
            _fill(info, values, raw)
        self._core.invoke(raw_ins[0] if n_in == 1 else raw_ins,
                          raw_outs[0] if len(raw_outs) == 1 else raw_outs)

    def ops(self):
        """[(op name, output shape, output bytes)] in execution order, the
        batch dimension dropped from shapes as in output_shape."""
        return [(name, shape[1:] if len(shape) > 1 else shape, nbytes)
                for name, shape, nbytes in self._core.ops()]

    def summary(self):
        """Print one line per layer (op, output shape, bytes) and the totals."""
        rows = self.ops()
        print("%-3s %-20s %-16s %s" % ("#", "op", "output", "bytes"))
        for i, (name, shape, nbytes) in enumerate(rows):
            print("%-3d %-20s %-16s %d" % (i, name, "x".join(str(d) for d in shape), nbytes))
        print("%d layers, model %d bytes, arena %d bytes, input %s, output %s" % (
            len(rows), len(self._blob), self.arena_size, self.input_shape, self.output_shape))

    def profile(self, x, runs=1):
        """Time one predict(x) in microseconds, split into its stages:
        {'quantize': us, 'invoke': us, 'dequantize': us, 'total': us} (best of
        `runs`). Per-layer times need timing inside the C executor, which
        this firmware does not have."""
        import time

        if len(self._inputs) != 1 or len(self._outputs) != 1:
            raise ValueError("tinyml: profile() times one-input, one-output models; "
                             "time predict() with time.ticks_us() instead")
        (raw_in,), raw_outs = self._buffers()
        out_arg = raw_outs[0] if len(raw_outs) == 1 else raw_outs
        raw_out = raw_outs[1 if self._embedding_index() == 0 else 0]
        best = None
        for _ in range(runs):
            t0 = time.ticks_us()
            _fill(self._inputs[0], x, raw_in)
            t1 = time.ticks_us()
            self._core.invoke(raw_in, out_arg)
            t2 = time.ticks_us()
            _result(self._outputs[0], raw_out)
            t3 = time.ticks_us()
            r = {"quantize": time.ticks_diff(t1, t0), "invoke": time.ticks_diff(t2, t1),
                 "dequantize": time.ticks_diff(t3, t2), "total": time.ticks_diff(t3, t0)}
            if best is None or r["total"] < best["total"]:
                best = r
        return best

    def reset(self):
        """Start a new sequence: a recurrent model (LSTM) keeps its state from
        one predict()/invoke() to the next, as TFLite does, so that frames can
        be fed one at a time; reset() sets that state back to its start."""
        self._core.reset()

    def close(self):
        """Free the arena now; the model cannot be used afterwards."""
        self._core.close()

    def __repr__(self):
        return "<tinyml.Model %s in=%s out=%s arena=%d>" % (
            self.name or "", self.input_shape, self.output_shape, self.arena_size)


def load(src):
    """Load a model from a file path, or use bytes/bytearray/memoryview in place.

    A file that exposes its bytes (a ROMFS file: flash, mapped) is used in
    place, so the model costs RAM for its arena and tables only; any other
    file is read into a heap buffer. Model.in_place says which happened."""
    if not isinstance(src, str):
        return Model(src)
    f = open(src, "rb")
    try:
        mapped = memoryview(f)
    except TypeError:
        mapped = None
    if mapped is not None:
        # The memoryview keeps the file, and so the flash, referenced.
        return Model(mapped)
    try:
        import os

        size = os.stat(src)[6]
        try:
            buf = bytearray(size)
        except MemoryError:
            raise MemoryError(_no_room_message(src, size)) from None
        got = f.readinto(buf)
    finally:
        f.close()
    if got != size:
        raise ValueError("tinyml: %s: read %d of %d bytes" % (src, got, size))
    return Model(buf, copied=True)


def _no_room_message(path, size):
    import gc

    gc.collect()
    return ("tinyml: %s: the model file (%d bytes) does not fit in the free heap (%d bytes), and "
            "its arena still has to: put it in ROMFS (tinyml deploy --rom), where it runs from "
            "flash in place" % (path, size, gc.mem_free()))


def info():
    """Version, blob format and build flags of this tinyml, as a dict."""
    d = build_info()
    d["package"] = __version__
    return d
