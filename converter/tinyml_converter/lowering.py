"""Lowering of an int8 TFLite graph to tinyml ops (usermod_c/tml_blob.h).

What TF 2.21 + Keras 3 really emit, and what becomes of it:
- edge QUANTIZE (float32 -> int8) / DEQUANTIZE (int8 -> float32) of a float
  I/O model: stripped, the model keeps int8 I/O with its scale/zero point;
- Flatten's SHAPE / STRIDED_SLICE / PACK feeding RESHAPE's shape operand:
  dead once RESHAPE takes its static output shape, so dead-code elimination
  removes them;
- RESHAPE / SQUEEZE / EXPAND_DIMS (Conv1D's EXPAND_DIMS -> CONV_2D -> RESHAPE):
  aliases sharing the input's storage (COPY only if the quantisation differs);
- SPACE_TO_BATCH_ND -> CONV_2D / DEPTHWISE_CONV_2D -> BATCH_TO_SPACE_ND
  (dilated convolution): one dilated conv with explicit padding;
- unary per-tensor int8 ops (LOGISTIC, TANH, RELU*, LEAKY_RELU, HARD_SWISH,
  int8 -> int8 QUANTIZE ...): LUT, table computed by TFLite itself (lut.py).
Requantisation parameters follow TFLite's Prepare functions operation by
operation (float32 vs double arithmetic matters for bit exactness).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from . import blob_layout as L
from .errors import ConversionError
from .lut import LUT_OPS, lut_table
from .quant import quantize_multiplier, tflite_round
from .tflite_model import FLOAT32, INT8, INT32, TflModel, TflOp, TflTensor, layer_name

ALIAS_OPS = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
SUPPORTED_OPS = sorted(
    {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D",
     "MEAN", "ADD", "MUL", "CONCATENATION", "PAD", "PADV2", "SOFTMAX",
     "SPACE_TO_BATCH_ND+BATCH_TO_SPACE_ND (dilated conv)",
     "SHAPE/STRIDED_SLICE/PACK (shape computations)", *ALIAS_OPS, *LUT_OPS})
SUPPORTED_TEXT = ", ".join(SUPPORTED_OPS)

# Fused activation codes of the schema's ActivationFunctionType.
ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6 = 0, 1, 2, 3
_ACT_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
PAD_SAME, PAD_VALID = 0, 1


@dataclass
class Const:
    """An array for the constant data section; ops refer to it by offset."""
    data: bytes
    kind: str = ""          # weights, bias, multiplier, shift, table (for inspect)


@dataclass
class Tensor:
    name: str
    shape: tuple
    scale: float
    zero_point: int
    data: bytes | None = None       # constant operand
    alias_of: int | None = None     # index of the tensor whose storage this one shares
    dtype: int = L.DTYPE_INT8

    @property
    def dims4(self) -> tuple:
        return (1,) * (4 - len(self.shape)) + tuple(self.shape)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * L.DTYPE_SIZE[self.dtype]


@dataclass
class Op:
    opname: str
    inputs: list
    outputs: list
    params: dict                    # field -> int, or Const for a data-section array
    source: str = ""                # TFLite op(s) and Keras layer, for messages and inspect
    macs: int = 0                   # multiply-accumulates (conv, FC, pool taps, ADD/MUL elements)


@dataclass
class Graph:
    tensors: list = field(default_factory=list)
    ops: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)


def _where(model: TflModel, op: TflOp) -> str:
    """'OP (Keras layer 'x', op #n)' from the tensor names, best effort."""
    for i in op.outputs:
        layer = layer_name(model.tensors[i].name)
        if layer:
            return f"{op.name} (Keras layer '{layer}', op #{op.index})"
    for i in op.inputs:
        layer = layer_name(model.tensors[i].name) if i >= 0 else ""
        if layer:
            return f"{op.name} (after Keras layer '{layer}', op #{op.index})"
    return f"{op.name} (op #{op.index})"


def activation_range(act: int, out: TflTensor, where: str) -> tuple:
    """CalculateActivationRangeQuantized for int8: f / scale in float32, std::round."""
    if act not in (ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6):
        raise ConversionError(
            f"{where}: fused activation {_ACT_NAMES.get(act, act)} is not supported "
            "(supported: NONE, RELU, RELU6, RELU_N1_TO_1)")
    scale = np.float32(out.scale)
    zp = out.zero_point

    def q(f):
        return zp + int(tflite_round(float(np.float32(f) / scale)))

    lo, hi = -128, 127
    if act == ACT_RELU:
        return max(lo, q(0.0)), hi
    if act == ACT_RELU6:
        return max(lo, q(0.0)), min(hi, q(6.0))
    if act == ACT_RELU_N1_TO_1:
        return max(lo, q(-1.0)), min(hi, q(1.0))
    return lo, hi


def _pack_i32(values) -> bytes:
    return np.asarray(values, dtype="<i4").tobytes()


def _same_quant(a: TflTensor, b: TflTensor) -> bool:
    return a.scale == b.scale and a.zero_point == b.zero_point


def compute_padding(padding: int, in_size: int, k: int, stride: int, dilation: int):
    """TFLite ComputePaddingHeightWidth for one dimension: (out_size, pad_before)."""
    eff = (k - 1) * dilation + 1
    if padding == PAD_SAME:
        out = (in_size + stride - 1) // stride
    else:
        out = (in_size - eff + stride) // stride
    total = max(0, (out - 1) * stride + eff - in_size)
    return out, total // 2


class Lowering:
    def __init__(self, model: TflModel, lut_fn=lut_table):
        self.m = model
        self.T = model.tensors
        self.g = Graph()
        self.tmap = {}
        self.lut_fn = lut_fn
        self.producer = {}
        self.consumers = defaultdict(list)
        for op in model.ops:
            for o in op.outputs:
                self.producer[o] = op
            for i in op.inputs:
                if i >= 0:
                    self.consumers[i].append(op)

    # ---- tensors -------------------------------------------------------
    def _check_int8(self, t: TflTensor, where: str):
        if t.type != INT8:
            raise ConversionError(
                f"{where}: tensor '{t.name}' is {t.type_name}; only int8 activations are "
                "supported (quantise the model fully to int8)")
        if len(t.scales) != 1:
            raise ConversionError(
                f"{where}: tensor '{t.name}' needs per-tensor quantisation "
                f"(has {len(t.scales)} scales)")

    def _new_tensor(self, t: TflTensor, **kw) -> int:
        if len(t.shape) > L.MAX_RANK:
            raise ConversionError(f"tensor '{t.name}' has rank {len(t.shape)}; at most 4 is supported")
        shape = t.shape if t.shape else (1,)
        self.g.tensors.append(Tensor(t.name, tuple(shape), t.scale, t.zero_point, **kw))
        return len(self.g.tensors) - 1

    def act(self, i: int, where: str) -> int:
        """Our tensor for TFLite tensor i (an activation or a constant operand)."""
        if i in self.tmap:
            return self.tmap[i]
        t = self.T[i]
        self._check_int8(t, where)
        if t.is_const:
            idx = self._new_tensor(t, data=t.data.astype("<i1").tobytes())
        else:
            idx = self._new_tensor(t)
        self.tmap[i] = idx
        return idx

    def root(self, idx: int) -> int:
        while self.g.tensors[idx].alias_of is not None:
            idx = self.g.tensors[idx].alias_of
        return idx

    # ---- whole graph ---------------------------------------------------
    def run(self) -> Graph:
        m, T = self.m, self.T
        if not any(t.type == INT8 for t in T):
            raise ConversionError(
                "the model has no int8 tensors: it is a float model. Convert a Keras model "
                "(tinyml convert model.keras --calib data.npy) or give a fully int8-quantised .tflite")
        skip = set()
        inputs, outputs = list(m.inputs), list(m.outputs)
        for k, ti in enumerate(inputs):
            t = T[ti]
            if t.type == INT8:
                continue
            cons = self.consumers[ti]
            if (t.type == FLOAT32 and len(cons) == 1 and cons[0].name == "QUANTIZE"
                    and T[cons[0].outputs[0]].type == INT8):
                inputs[k] = cons[0].outputs[0]
                skip.add(cons[0].index)
            else:
                raise ConversionError(
                    f"model input '{t.name}' is {t.type_name} and not followed by a single "
                    "QUANTIZE to int8; only int8 (or float32 + QUANTIZE) inputs are supported")
        for k, to in enumerate(outputs):
            t = T[to]
            if t.type == INT8:
                continue
            p = self.producer.get(to)
            if (t.type == FLOAT32 and p is not None and p.name == "DEQUANTIZE"
                    and T[p.inputs[0]].type == INT8):
                outputs[k] = p.inputs[0]
                skip.add(p.index)
            else:
                raise ConversionError(
                    f"model output '{t.name}' is {t.type_name} and not produced by DEQUANTIZE "
                    "from int8; only int8 (or int8 + DEQUANTIZE) outputs are supported")
        keep = self._live_ops(outputs, skip)
        for ti in inputs:
            self.act(ti, "model input")
        fused = set()
        for op in m.ops:
            if op.index not in keep or op.index in fused:
                continue
            where = _where(m, op)
            if op.name == "SPACE_TO_BATCH_ND":
                fused |= self._lower_dilated(op, where)
                continue
            fn = getattr(self, "_op_" + op.name.lower(), None)
            if fn is None:
                if op.name in LUT_OPS:
                    fn = self._op_lut
                else:
                    raise ConversionError(
                        f"{where}: op {op.name} is not supported. Supported: {SUPPORTED_TEXT}")
            fn(op, where)
        self.g.inputs = [self.act(i, "model input") for i in inputs]
        self.g.outputs = []
        for o in outputs:
            if o not in self.tmap:
                raise ConversionError(f"model output '{T[o].name}' is not computed by any op")
            self.g.outputs.append(self.tmap[o])
        return self.g

    def _live_ops(self, outputs, skip) -> set:
        """Ops needed for the outputs. RESHAPE's shape operand (and EXPAND_DIMS'
        axis) are not needs: the static output shape says it all, so Flatten's
        SHAPE/STRIDED_SLICE/PACK become dead."""
        needed = set(outputs)
        keep = set()
        for op in reversed(self.m.ops):
            if op.index in skip or not any(o in needed for o in op.outputs):
                continue
            keep.add(op.index)
            ins = op.inputs[:1] if op.name in ALIAS_OPS else op.inputs
            needed.update(i for i in ins if i >= 0 and not self.T[i].is_const)
        return keep

    def _add(self, opname, ins, outs, params, where, macs=0):
        self.g.ops.append(Op(opname, ins, outs, params, where, macs))

    def _out(self, op: TflOp, where: str) -> TflTensor:
        t = self.T[op.outputs[0]]
        self._check_int8(t, where)
        if op.outputs[0] in self.tmap:
            raise ConversionError(f"{where}: tensor '{t.name}' is written twice")
        return t

    def _const(self, i: int, where: str, what: str) -> TflTensor:
        if i < 0 or not self.T[i].is_const:
            raise ConversionError(f"{where}: {what} must be a constant tensor")
        return self.T[i]

    # ---- convolutions ----------------------------------------------------
    def _conv_common(self, op, where, *, depthwise, inp_i, out_i, pads=None, dil=None):
        o = op.options
        inp, out = self.T[inp_i], self.T[out_i]
        self._check_int8(out, where)
        filt = self._const(op.inputs[1], where, "the filter")
        if filt.type != INT8:
            raise ConversionError(f"{where}: filter is {filt.type_name}; only int8 weights are supported")
        if any(z != 0 for z in filt.zero_points):
            raise ConversionError(f"{where}: int8 filter with non-zero zero point is not supported")
        if len(inp.shape) != 4:
            raise ConversionError(f"{where}: input must be 4-D NHWC, got {inp.shape}")
        _, in_h, in_w, in_c = inp.shape
        fshape = filt.shape
        if depthwise:
            _, kh, kw, out_c = fshape
            if out_c % in_c:
                raise ConversionError(f"{where}: {out_c} output channels not a multiple of {in_c}")
            depth_multiplier = out_c // in_c
            qdim_ok = filt.quantized_dimension == 3
        else:
            out_c, kh, kw, f_in = fshape
            if f_in != in_c:
                raise ConversionError(
                    f"{where}: grouped convolution ({in_c} input channels, filter depth {f_in}) "
                    "is not supported")
            depth_multiplier = 1
            qdim_ok = filt.quantized_dimension == 0
        nq = len(filt.scales)
        if nq not in (1, out_c) or (nq > 1 and not qdim_ok):
            raise ConversionError(f"{where}: filter quantisation has {nq} scales for {out_c} channels")
        stride_h, stride_w = o.strideH, o.strideW
        if dil is None:
            dil = (o.dilationHFactor or 1, o.dilationWFactor or 1)
        out_h, out_w = self.T[out_i].shape[1:3] if len(self.T[out_i].shape) == 4 else (None, None)
        if pads is None:
            oh, pt = compute_padding(o.padding, in_h, kh, stride_h, dil[0])
            ow, pl = compute_padding(o.padding, in_w, kw, stride_w, dil[1])
            if (oh, ow) != (out_h, out_w):
                raise ConversionError(f"{where}: output {out.shape} does not match the conv arithmetic")
        else:
            pt, pl = pads
        act_min, act_max = activation_range(o.fusedActivationFunction, out, where)
        mults, shifts = [], []
        for fs in filt.scales:
            # PopulateConvolutionQuantizationParams: double(in) * double(f) / double(out).
            mul, sh = quantize_multiplier(inp.scale * fs / out.scale)
            mults.append(mul)
            shifts.append(sh)
        bias = L.NONE
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            b = self._const(op.inputs[2], where, "the bias")
            if b.type != INT32:
                raise ConversionError(f"{where}: bias is {b.type_name}; int32 expected")
            bias = Const(b.data.astype("<i4").tobytes(), "bias")
        params = dict(
            kernel_h=kh, kernel_w=kw, stride_h=stride_h, stride_w=stride_w,
            dilation_h=dil[0], dilation_w=dil[1], pad_top=pt, pad_left=pl,
            depth_multiplier=depth_multiplier, channel_quant=nq,
            act_min=act_min, act_max=act_max,
            weights=Const(filt.data.astype("<i1").tobytes(), "weights"), bias=bias,
            multiplier=Const(_pack_i32(mults), "multiplier"),
            shift=Const(_pack_i32(shifts), "shift"))
        out_elems = int(np.prod(out.shape))
        macs = out_elems * kh * kw * (1 if depthwise else in_c)
        name = "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D"
        x = self.act(inp_i, where)
        y = self.act(out_i, where)
        self._add(name, [x], [y], params, where, macs)

    def _op_conv_2d(self, op, where):
        self._out(op, where)
        self._conv_common(op, where, depthwise=False, inp_i=op.inputs[0], out_i=op.outputs[0])

    def _op_depthwise_conv_2d(self, op, where):
        self._out(op, where)
        self._conv_common(op, where, depthwise=True, inp_i=op.inputs[0], out_i=op.outputs[0])

    def _lower_dilated(self, s2b: TflOp, where: str) -> set:
        """SPACE_TO_BATCH_ND -> conv (VALID, stride 1) -> BATCH_TO_SPACE_ND equals
        a conv with dilation = block and pad_top = s2b pad - b2s crop: both pad
        with the zero point, so padded taps contribute nothing either way."""
        mid = s2b.outputs[0]
        cons = self.consumers[mid]
        bad = ConversionError(
            f"{where}: SPACE_TO_BATCH_ND is only supported as part of a dilated convolution "
            "(SPACE_TO_BATCH_ND -> CONV_2D/DEPTHWISE_CONV_2D -> BATCH_TO_SPACE_ND)")
        if len(cons) != 1 or cons[0].name not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            raise bad
        conv = cons[0]
        c_out = conv.outputs[0]
        cons2 = self.consumers[c_out]
        if len(cons2) != 1 or cons2[0].name != "BATCH_TO_SPACE_ND" or c_out in self.m.outputs:
            raise bad
        b2s = cons2[0]
        block = self._const(s2b.inputs[1], where, "block shape").data.reshape(-1).tolist()
        block2 = self._const(b2s.inputs[1], where, "block shape").data.reshape(-1).tolist()
        paddings = self._const(s2b.inputs[2], where, "paddings").data.reshape(-1, 2).tolist()
        crops = self._const(b2s.inputs[2], where, "crops").data.reshape(-1, 2).tolist()
        o = conv.options
        if (block != block2 or len(block) != 2 or o.strideH != 1 or o.strideW != 1
                or o.padding != PAD_VALID or (o.dilationHFactor or 1) != 1
                or (o.dilationWFactor or 1) != 1):
            raise bad
        s_in, s_mid = self.T[s2b.inputs[0]], self.T[mid]
        c_mid, b_out = self.T[c_out], self.T[b2s.outputs[0]]
        if not (_same_quant(s_in, s_mid) and _same_quant(c_mid, b_out)):
            raise bad
        pads = (paddings[0][0] - crops[0][0], paddings[1][0] - crops[1][0])
        if min(pads) < 0:
            raise bad
        self._out(b2s, where)
        cwhere = _where(self.m, conv) + " (dilated)"
        self._conv_common(conv, cwhere, depthwise=conv.name == "DEPTHWISE_CONV_2D",
                          inp_i=s2b.inputs[0], out_i=b2s.outputs[0], pads=pads,
                          dil=(block[0], block[1]))
        return {conv.index, b2s.index}

    # ---- fully connected ---------------------------------------------------
    def _op_fully_connected(self, op, where):
        o = op.options
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        filt = self._const(op.inputs[1], where, "the weight matrix (FULLY_CONNECTED with a "
                           "non-constant weight tensor is not supported)")
        if filt.type != INT8 or len(filt.shape) != 2:
            raise ConversionError(f"{where}: weights must be int8 [out, in], got {filt.type_name} {filt.shape}")
        if getattr(o, "weightsFormat", 0) != 0:
            raise ConversionError(f"{where}: shuffled FULLY_CONNECTED weights are not supported")
        if any(z != 0 for z in filt.zero_points):
            raise ConversionError(f"{where}: int8 weights with non-zero zero point are not supported")
        out_f, in_f = filt.shape
        elems = int(np.prod(inp.shape))
        if elems % in_f:
            raise ConversionError(f"{where}: input {inp.shape} is not a multiple of {in_f} features")
        act_min, act_max = activation_range(o.fusedActivationFunction, out, where)
        nq = len(filt.scales)
        if nq == 1:
            # GetQuantizedConvolutionMultipler: the scale product is a float32.
            prod = float(np.float32(inp.scale) * np.float32(filt.scale))
            mults = [quantize_multiplier(prod / out.scale)]
        elif nq == out_f:
            mults = [quantize_multiplier(inp.scale * fs / out.scale) for fs in filt.scales]
        else:
            raise ConversionError(f"{where}: weight quantisation has {nq} scales for {out_f} outputs")
        bias = L.NONE
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            b = self._const(op.inputs[2], where, "the bias")
            if b.type != INT32:
                raise ConversionError(f"{where}: bias is {b.type_name}; int32 expected")
            bias = Const(b.data.astype("<i4").tobytes(), "bias")
        params = dict(
            channel_quant=nq, reserved=0, act_min=act_min, act_max=act_max,
            weights=Const(filt.data.astype("<i1").tobytes(), "weights"), bias=bias,
            multiplier=Const(_pack_i32([m for m, _ in mults]), "multiplier"),
            shift=Const(_pack_i32([s for _, s in mults]), "shift"))
        x = self.act(op.inputs[0], where)
        y = self.act(op.outputs[0], where)
        self._add("FULLY_CONNECTED", [x], [y], params, where, (elems // in_f) * in_f * out_f)

    # ---- pooling and reductions ---------------------------------------------
    def _pool(self, op, where, name):
        o = op.options
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        if not _same_quant(inp, out):
            raise ConversionError(f"{where}: input and output quantisation differ; not supported")
        _, in_h, in_w, _ = inp.shape
        oh, pt = compute_padding(o.padding, in_h, o.filterHeight, o.strideH, 1)
        ow, pl = compute_padding(o.padding, in_w, o.filterWidth, o.strideW, 1)
        if (oh, ow) != tuple(out.shape[1:3]):
            raise ConversionError(f"{where}: output {out.shape} does not match the pooling arithmetic")
        act_min, act_max = activation_range(o.fusedActivationFunction, out, where)
        params = dict(filter_h=o.filterHeight, filter_w=o.filterWidth, stride_h=o.strideH,
                      stride_w=o.strideW, pad_top=pt, pad_left=pl, act_min=act_min, act_max=act_max)
        x = self.act(op.inputs[0], where)
        y = self.act(op.outputs[0], where)
        macs = int(np.prod(out.shape)) * o.filterHeight * o.filterWidth
        self._add(name, [x], [y], params, where, macs)

    def _op_average_pool_2d(self, op, where):
        self._pool(op, where, "AVERAGE_POOL_2D")

    def _op_max_pool_2d(self, op, where):
        self._pool(op, where, "MAX_POOL_2D")

    def _op_mean(self, op, where):
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        axes = self._const(op.inputs[1], where, "the axis").data.reshape(-1).tolist()
        rank = len(inp.shape)
        mask = 0
        for a in axes:
            a = int(a)
            if not -rank <= a < rank:
                raise ConversionError(f"{where}: axis {a} out of range for rank {rank}")
            mask |= 1 << ((a % rank) + (4 - rank))
        if _same_quant(inp, out):
            mode, mul, sh = 0, 0, 0
        else:
            # reduce.cc PrepareMeanOrSum: double(in scale) / double(out scale).
            mode = 1
            mul, sh = quantize_multiplier(inp.scale / out.scale)
        x = self.act(op.inputs[0], where)
        y = self.act(op.outputs[0], where)
        self._add("MEAN", [x], [y], dict(axis_mask=mask, mode=mode, multiplier=mul, shift=sh),
                  where)

    # ---- element-wise binary -------------------------------------------------
    def _binary_inputs(self, op, where):
        a, b = op.inputs[:2]
        out = self.T[op.outputs[0]]
        for i in (a, b):
            s = self.T[i].shape
            o = out.shape
            if len(s) > len(o) or any(d not in (1, e) for d, e in zip(s[::-1], o[::-1])):
                raise ConversionError(f"{where}: cannot broadcast {s} to {o}")
        return self.T[a], self.T[b]

    def _op_add(self, op, where):
        out = self._out(op, where)
        t1, t2 = self._binary_inputs(op, where)
        left_shift = 20
        # add.cc Prepare, general int8 path.
        twice_max = float(2 * max(np.float32(t1.scale), np.float32(t2.scale)))
        m1 = quantize_multiplier(t1.scale / twice_max)
        m2 = quantize_multiplier(t2.scale / twice_max)
        mo = quantize_multiplier(twice_max / ((1 << left_shift) * out.scale))
        act_min, act_max = activation_range(op.options.fusedActivationFunction, out, where)
        params = dict(left_shift=left_shift, input1_multiplier=m1[0], input1_shift=m1[1],
                      input2_multiplier=m2[0], input2_shift=m2[1], output_multiplier=mo[0],
                      output_shift=mo[1], act_min=act_min, act_max=act_max)
        ins = [self.act(op.inputs[0], where), self.act(op.inputs[1], where)]
        y = self.act(op.outputs[0], where)
        self._add("ADD", ins, [y], params, where, int(np.prod(out.shape)))

    def _op_mul(self, op, where):
        out = self._out(op, where)
        t1, t2 = self._binary_inputs(op, where)
        # mul.cc Prepare: in1 * in2 / out all in float32, then widened to double.
        real = float(np.float32(np.float32(t1.scale) * np.float32(t2.scale)) / np.float32(out.scale))
        mul, sh = quantize_multiplier(real)
        act_min, act_max = activation_range(op.options.fusedActivationFunction, out, where)
        params = dict(output_multiplier=mul, output_shift=sh, act_min=act_min, act_max=act_max)
        ins = [self.act(op.inputs[0], where), self.act(op.inputs[1], where)]
        y = self.act(op.outputs[0], where)
        self._add("MUL", ins, [y], params, where, int(np.prod(out.shape)))

    # ---- data movement ---------------------------------------------------------
    def _op_concatenation(self, op, where):
        o = op.options
        out = self._out(op, where)
        if o.fusedActivationFunction != ACT_NONE:
            raise ConversionError(f"{where}: fused activation on CONCATENATION is not supported")
        for i in op.inputs:
            t = self.T[i]
            if not _same_quant(t, out):
                raise ConversionError(
                    f"{where}: input '{t.name}' has scale {t.scale:g}, zero point {t.zero_point} "
                    f"but the output has scale {out.scale:g}, zero point {out.zero_point}; "
                    "CONCATENATION is supported only when all inputs share the output's quantisation")
        rank = len(out.shape)
        axis = o.axis % rank + (4 - rank)
        ins = [self.act(i, where) for i in op.inputs]
        y = self.act(op.outputs[0], where)
        self._add("CONCATENATION", ins, [y], dict(axis=axis), where)

    def _op_pad(self, op, where):
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        if not _same_quant(inp, out):
            raise ConversionError(f"{where}: input and output quantisation differ; not supported")
        pads = self._const(op.inputs[1], where, "the paddings").data.reshape(-1, 2).tolist()
        pads = [[0, 0]] * (4 - len(pads)) + pads
        if any(v < 0 for row in pads for v in row):
            raise ConversionError(f"{where}: negative padding is not supported")
        if op.name == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
            cv = self._const(op.inputs[2], where, "the constant value")
            pad_value = int(cv.data.reshape(-1)[0])
        else:
            pad_value = out.zero_point
        params = {f"before{k}": int(pads[k][0]) for k in range(4)}
        params.update({f"after{k}": int(pads[k][1]) for k in range(4)})
        params["pad_value"] = pad_value
        x = self.act(op.inputs[0], where)
        y = self.act(op.outputs[0], where)
        self._add("PAD", [x], [y], params, where)

    _op_padv2 = _op_pad

    def _op_softmax(self, op, where):
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        if out.zero_point != -128 or abs(out.scale - 1.0 / 256) > 1e-9:
            raise ConversionError(f"{where}: int8 SOFTMAX output must have scale 1/256, zero point -128")
        # activations.cc SoftmaxPrepare (reference kernel), kScaledDiffIntegerBits = 5:
        # PreprocessSoftmaxScaling then CalculateInputRadius.
        bits = 5
        beta = float(np.float32(op.options.beta))
        real = min(beta * inp.scale * (1 << (31 - bits)), (1 << 31) - 1.0)
        mul, left_shift = quantize_multiplier(real)
        if left_shift < 0:
            raise ConversionError(f"{where}: input scale too small for TFLite's softmax scaling")
        radius = math.floor(1.0 * ((1 << bits) - 1) * (1 << (31 - bits)) / (1 << left_shift))
        params = dict(input_multiplier=mul, input_left_shift=left_shift, diff_min=-int(radius))
        x = self.act(op.inputs[0], where)
        y = self.act(op.outputs[0], where)
        self._add("SOFTMAX", [x], [y], params, where)

    def _op_lut(self, op, where):
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        self._check_int8(inp, where)
        extra = [i for i in op.inputs[1:] if i >= 0]
        if extra or len(op.outputs) != 1 or tuple(inp.shape) != tuple(out.shape):
            raise ConversionError(f"{where}: only unary element-wise {op.name} is supported")
        table = self.lut_fn(self.m, op)
        x = self.act(op.inputs[0], where)
        y = self.act(op.outputs[0], where)
        self._add("LUT", [x], [y], dict(table=Const(table, "table")), where)

    def _alias(self, op, where):
        out = self._out(op, where)
        inp = self.T[op.inputs[0]]
        self._check_int8(inp, where)
        if int(np.prod(inp.shape)) != int(np.prod(out.shape)):
            raise ConversionError(f"{where}: {inp.shape} -> {out.shape} changes the element count")
        if inp.is_const:
            self.tmap[op.outputs[0]] = self._new_tensor(out, data=inp.data.astype("<i1").tobytes())
            return
        x = self.act(op.inputs[0], where)
        if _same_quant(inp, out):
            self.tmap[op.outputs[0]] = self._new_tensor(out, alias_of=self.root(x))
        else:
            y = self.act(op.outputs[0], where)
            self._add("COPY", [x], [y], {}, where)

    _op_reshape = _alias
    _op_squeeze = _alias
    _op_expand_dims = _alias


def lower(model: TflModel, lut_fn=lut_table) -> Graph:
    return Lowering(model, lut_fn).run()
