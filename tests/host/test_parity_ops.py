"""Op-level parity with TFLite's reference kernels, bit for bit.

Each op family is one Keras model with one independent branch (own input,
own output) per case, so a whole family costs a single TFLite conversion.
If the family fails as a whole (converter refusal, loader refusal, crash in
TF), every case is converted on its own so the report names the culprit.
A converter refusal, any other failure or any differing byte fails the case.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import parity
from tinyml_converter import coverage
from tinyml_converter.lowering import lower
from tinyml_converter.tflite_model import read_tflite

pytest.importorskip("tensorflow")
pytest.importorskip("keras")


@dataclass
class Case:
    id: str
    shapes: list  # input shapes without the batch dimension
    build: Callable  # (layers, keras, *inputs) -> output tensor


def C(id, shapes, build):
    return Case(id, [tuple(s) for s in shapes], build)


def conv(filters, kernel, strides=1, padding="valid", dilation=1, activation=None, bias=True):
    return lambda L, k, x: L.Conv2D(filters, kernel, strides=strides, padding=padding,
                                    dilation_rate=dilation, activation=activation, use_bias=bias)(x)


def dwconv(kernel, mult=1, strides=1, padding="valid", dilation=1, activation=None, bias=True):
    return lambda L, k, x: L.DepthwiseConv2D(kernel, strides=strides, padding=padding,
                                             depth_multiplier=mult, dilation_rate=dilation,
                                             activation=activation, use_bias=bias)(x)


def dense(units, activation=None, bias=True, flatten=False):
    def f(L, k, x):
        if flatten:
            x = L.Flatten()(x)
        return L.Dense(units, activation=activation, use_bias=bias)(x)
    return f


def pool(kind, size, strides=None, padding="valid"):
    layer = {"avg": "AveragePooling2D", "max": "MaxPooling2D"}[kind]
    return lambda L, k, x: getattr(L, layer)(size, strides=strides, padding=padding)(x)


FAMILIES = {
    "conv2d": [
        C("3x3_same", [(8, 8, 3)], conv(4, 3, padding="same")),
        C("3x2_s2x1_valid_relu", [(9, 7, 2)], conv(5, (3, 2), strides=(2, 1), activation="relu")),
        C("5x5_s2_same_relu6", [(10, 10, 4)], conv(6, 5, strides=2, padding="same", activation="relu6")),
        C("dilation2_same", [(12, 12, 3)], conv(4, 3, padding="same", dilation=2)),
        C("dilation2x3_valid", [(12, 11, 2)], conv(3, 3, dilation=(2, 3))),
        C("1x1", [(6, 6, 8)], conv(8, 1)),
        C("1x3_s1x2_same_nobias", [(7, 7, 3)], conv(2, (1, 3), strides=(1, 2), padding="same", bias=False)),
        C("full_window", [(5, 5, 1)], conv(1, 5)),
        C("row_1x5", [(1, 16, 3)], conv(4, (1, 5), padding="same")),
        C("stride_gt_kernel", [(9, 9, 2)], conv(4, 2, strides=3)),
        C("s2_same_even", [(8, 6, 5)], conv(7, 3, strides=2, padding="same", activation="relu")),
        C("wide_channels", [(4, 4, 32)], conv(16, 3, padding="same")),
    ],
    "depthwise": [
        C("3x3_same_relu", [(8, 8, 4)], dwconv(3, padding="same", activation="relu")),
        C("3x2_m2_s2x1", [(9, 7, 3)], dwconv((3, 2), mult=2, strides=(2, 1))),
        C("5x5_m3_s2_same_relu6", [(10, 10, 2)], dwconv(5, mult=3, strides=2, padding="same", activation="relu6")),
        C("dilation2_same", [(12, 12, 4)], dwconv(3, padding="same", dilation=2)),
        C("1x1", [(6, 6, 8)], dwconv(1)),
        C("m4_nobias", [(7, 5, 1)], dwconv(3, mult=4, bias=False)),
        C("s3_same", [(11, 11, 3)], dwconv(3, strides=3, padding="same")),
        C("s2_same_even", [(6, 8, 5)], dwconv(3, strides=2, padding="same")),
    ],
    "dense": [
        C("16_8", [(16,)], dense(8)),
        C("40_10_relu", [(40,)], dense(10, "relu")),
        C("7_3_relu6", [(7,)], dense(3, "relu6")),
        C("rank3_batchlike", [(4, 6)], dense(5)),
        C("rank4_relu", [(2, 3, 4)], dense(3, "relu")),
        C("nobias", [(12,)], dense(6, bias=False)),
        C("1_1", [(1,)], dense(1)),
        C("flatten", [(4, 4, 3)], dense(6, flatten=True)),
        C("wide_300", [(300,)], dense(20)),
    ],
    "pool": [
        C("avg_2_s2", [(8, 8, 3)], pool("avg", 2)),
        C("avg_3_s2_same", [(9, 9, 2)], pool("avg", 3, 2, "same")),
        C("avg_2x3_s1_same", [(7, 5, 4)], pool("avg", (2, 3), 1, "same")),
        C("avg_3_s3", [(6, 6, 1)], pool("avg", 3)),
        C("avg_full", [(5, 5, 2)], pool("avg", 5)),
        C("avg_4_s2_same", [(7, 7, 3)], pool("avg", 4, 2, "same")),
        C("max_2_s2", [(8, 8, 3)], pool("max", 2)),
        C("max_3_s2_same", [(9, 9, 2)], pool("max", 3, 2, "same")),
        C("max_2x3_s1_same", [(7, 5, 4)], pool("max", (2, 3), 1, "same")),
        C("max_3_s1", [(6, 6, 1)], pool("max", 3, 1)),
        C("max_1d", [(20, 3)], lambda L, k, x: L.MaxPooling1D(3, strides=2, padding="same")(x)),
        C("avg_1d", [(20, 3)], lambda L, k, x: L.AveragePooling1D(2)(x)),
    ],
    "mean": [
        C("gap2d", [(6, 6, 5)], lambda L, k, x: L.GlobalAveragePooling2D()(x)),
        C("gap2d_keepdims", [(5, 7, 3)], lambda L, k, x: L.GlobalAveragePooling2D(keepdims=True)(x)),
        C("gap1d", [(20, 4)], lambda L, k, x: L.GlobalAveragePooling1D()(x)),
        C("axis_channels", [(4, 4, 6)], lambda L, k, x: k.ops.mean(x, axis=-1)),
        C("axis_h_keepdims", [(4, 5, 6)], lambda L, k, x: k.ops.mean(x, axis=1, keepdims=True)),
        C("axis_w", [(3, 8, 2)], lambda L, k, x: k.ops.mean(x, axis=2)),
        C("large_count", [(16, 16, 2)], lambda L, k, x: L.GlobalAveragePooling2D()(x)),
    ],
    "add": [
        C("same_shape", [(4, 4, 3), (4, 4, 3)], lambda L, k, a, b: L.Add()([a, b])),
        C("relu", [(5, 3, 2), (5, 3, 2)], lambda L, k, a, b: L.ReLU()(L.Add()([a, b]))),
        C("broadcast_channels", [(4, 4, 3), (1, 1, 3)], lambda L, k, a, b: k.ops.add(a, b)),
        C("broadcast_both", [(5, 1, 2), (1, 6, 2)], lambda L, k, a, b: k.ops.add(a, b)),
        C("constant", [(3, 4)], lambda L, k, a: k.ops.add(a, np.linspace(-2, 3, 4, dtype=np.float32))),
        C("vector", [(10,), (10,)], lambda L, k, a, b: L.Add()([a, b])),
        C("three_way", [(3, 3, 2)] * 3, lambda L, k, a, b, c: L.Add()([a, b, c])),
    ],
    "mul": [
        C("same_shape", [(4, 4, 3), (4, 4, 3)], lambda L, k, a, b: L.Multiply()([a, b])),
        C("broadcast_se", [(4, 4, 3), (1, 1, 3)], lambda L, k, a, b: k.ops.multiply(a, b)),
        C("constant", [(3, 4)], lambda L, k, a: k.ops.multiply(a, np.linspace(-1, 2, 4, dtype=np.float32))),
        C("broadcast_rows", [(2, 5), (1, 5)], lambda L, k, a, b: k.ops.multiply(a, b)),
    ],
    "concat": [
        C("channels", [(4, 4, 3), (4, 4, 5)], lambda L, k, a, b: L.Concatenate()([a, b])),
        C("axis1_three", [(2, 3, 2), (4, 3, 2), (1, 3, 2)], lambda L, k, a, b, c: L.Concatenate(axis=1)([a, b, c])),
        C("axis2", [(3, 2, 4), (3, 1, 4)], lambda L, k, a, b: L.Concatenate(axis=2)([a, b])),
        C("vectors", [(5,), (7,)], lambda L, k, a, b: L.Concatenate()([a, b])),
        C("same_input_twice", [(2, 2, 3)], lambda L, k, a: L.Concatenate()([a, a])),
        C("after_convs", [(5, 5, 2)], lambda L, k, a: L.Concatenate()(
            [L.Conv2D(3, 1)(a), L.Conv2D(4, 3, padding="same", activation="relu")(a)])),
    ],
    "pad": [
        C("zero_pad_1", [(4, 4, 3)], lambda L, k, x: L.ZeroPadding2D(1)(x)),
        C("zero_pad_asym", [(3, 5, 2)], lambda L, k, x: L.ZeroPadding2D(((0, 2), (1, 0)))(x)),
        C("zero_pad_1d", [(10, 3)], lambda L, k, x: L.ZeroPadding1D((2, 1))(x)),
        C("pad_channels", [(3, 3, 2)], lambda L, k, x: k.ops.pad(x, [[0, 0], [0, 0], [0, 0], [1, 2]])),
        C("pad_value", [(4, 3, 2)],
          lambda L, k, x: L.Lambda(lambda t: _tf().pad(t, [[0, 0], [1, 0], [2, 1], [0, 0]], constant_values=0.75))(x)),
    ],
    "softmax": [
        C("10", [(10,)], lambda L, k, x: L.Softmax()(x)),
        C("rows", [(3, 5)], lambda L, k, x: L.Softmax()(x)),
        C("rank4", [(2, 2, 8)], lambda L, k, x: L.Softmax()(x)),
        C("after_dense", [(12,)], lambda L, k, x: L.Softmax()(L.Dense(6)(x))),
        C("two_classes", [(2,)], lambda L, k, x: L.Softmax()(x)),
        C("wide_100", [(100,)], lambda L, k, x: L.Softmax()(x)),
    ],
    "lut": [
        C("sigmoid", [(4, 4, 3)], lambda L, k, x: L.Activation("sigmoid")(x)),
        C("tanh", [(20,)], lambda L, k, x: L.Activation("tanh")(x)),
        C("hard_swish", [(3, 3, 4)], lambda L, k, x: L.Activation("hard_swish")(x)),
        C("leaky_relu", [(5, 5, 2)], lambda L, k, x: L.LeakyReLU(negative_slope=0.2)(x)),
        C("relu_alone", [(10,)], lambda L, k, x: L.ReLU()(x)),
        C("relu6_alone", [(3, 7)], lambda L, k, x: L.ReLU(max_value=6.0)(x)),
        C("conv_sigmoid", [(6, 6, 2)], conv(3, 3, activation="sigmoid")),
        C("dense_tanh", [(9,)], dense(4, "tanh")),
    ],
    # The other ops run as a table (lut.LUT_OPS), inputs kept where the float op is defined.
    "lut_more": [
        C("gelu", [(12,)], lambda L, k, x: L.Activation("gelu")(x)),
        C("abs", [(3, 4, 2)], lambda L, k, x: k.ops.abs(x)),
        C("exp", [(9,)], lambda L, k, x: k.ops.exp(x)),
        C("log", [(2, 6)], lambda L, k, x: k.ops.log(k.ops.abs(x) + 0.5)),
        C("sqrt", [(8,)], lambda L, k, x: k.ops.sqrt(k.ops.abs(x))),
        C("rsqrt", [(5, 3)], lambda L, k, x: k.ops.rsqrt(k.ops.abs(x) + 0.25)),
        C("relu_n1_to_1", [(10,)], lambda L, k, x: L.Lambda(lambda t: _tf().clip_by_value(t, -1.0, 1.0))(x)),
        C("relu_0_to_1", [(10,)], lambda L, k, x: L.Lambda(lambda t: _tf().minimum(_tf().nn.relu(t), 1.0))(x)),
        # Concatenated inputs share one scale: the fixed-scale sigmoid and tanh need a QUANTIZE.
        C("requantize", [(6,)], lambda L, k, x: L.Concatenate()([L.Activation("sigmoid")(x),
                                                                L.Activation("tanh")(x)])),
    ],
    "reshape": [
        C("flatten_dense", [(3, 4, 2)], lambda L, k, x: L.Dense(3)(L.Flatten()(L.Conv2D(2, 1)(x)))),
        C("reshape_conv", [(24,)], lambda L, k, x: L.Conv2D(2, 3)(L.Reshape((4, 6, 1))(x))),
        C("conv1d", [(16, 3)], lambda L, k, x: L.Conv1D(4, 3, padding="same")(x)),
        C("conv1d_s2_dilated", [(20, 2)], lambda L, k, x: L.Conv1D(3, 3, dilation_rate=2)(x)),
        C("conv1d_dilated_same_relu", [(19, 3)],
          lambda L, k, x: L.Conv1D(4, 3, dilation_rate=2, padding="same", activation="relu")(x)),
        C("conv1d_dilation3_k5", [(30, 2)], lambda L, k, x: L.Conv1D(2, 5, dilation_rate=3)(x)),
        C("conv1d_dilated_causal", [(16, 2)],
          lambda L, k, x: L.Conv1D(3, 2, dilation_rate=4, padding="causal")(x)),
        C("depthwise_conv1d_dilated", [(21, 3)],
          lambda L, k, x: L.DepthwiseConv1D(3, depth_multiplier=2, dilation_rate=2, padding="same")(x)),
    ],
    # Each output element one input element (one REMAP kernel): bytes are copied, never requantised.
    "remap": [
        C("transpose_hw", [(3, 5, 4)], lambda L, k, x: L.Permute((2, 1, 3))(x)),
        C("transpose_rank3", [(4, 6)], lambda L, k, x: L.Permute((2, 1))(x)),
        C("transpose_c_first", [(2, 3, 5)], lambda L, k, x: L.Permute((3, 1, 2))(x)),
        C("strided_slice", [(7, 6, 5)], lambda L, k, x: x[:, 1:6:2, ::3, 1:]),
        C("strided_slice_negative", [(5, 8, 3)], lambda L, k, x: x[:, ::-1, -2:1:-2, :]),
        C("strided_slice_shrink", [(4, 5, 6)], lambda L, k, x: x[:, 2, 1:4, :]),
        C("strided_slice_ellipsis", [(4, 5, 6)], lambda L, k, x: x[..., 2:5]),
        C("strided_slice_new_axis", [(4, 6)], lambda L, k, x: x[:, None, 1:3, :]),
        C("slice", [(6, 5, 4)], lambda L, k, x: k.ops.slice(x, (0, 1, 2, 0), (1, 4, 2, 3))),
        C("split_concat", [(3, 3, 6)], lambda L, k, x: L.Concatenate()(k.ops.split(x, 3, axis=-1)[::-1])),
        C("split_rows", [(4, 5, 2)], lambda L, k, x: L.Add()(k.ops.split(x, 2, axis=1))),
        C("split_v", [(2, 7)], lambda L, k, x: L.Concatenate()(k.ops.split(x, [2, 6], axis=-1)[::-1])),
        C("unstack_stack", [(3, 4, 2)], lambda L, k, x: k.ops.stack(k.ops.unstack(x, axis=1)[::-1], axis=2)),
        C("stack_new_last", [(5, 3)], lambda L, k, x: k.ops.stack([x, L.ReLU()(x)], axis=-1)),
        C("tile", [(2, 3, 2)], lambda L, k, x: k.ops.tile(x, (1, 2, 1, 3))),
        C("gather", [(4, 5, 3)], lambda L, k, x: k.ops.take(x, np.array([4, 0, 2, 2]), axis=2)),
        C("gather_channels", [(3, 6)], lambda L, k, x: k.ops.take(x, np.array([5, 1]), axis=-1)),
        C("gather_nd_rows", [(4, 5, 3)], lambda L, k, x: L.Lambda(
            lambda t: _tf().gather_nd(t, [[0, 3], [0, 1], [0, 3]]))(x)),
        C("gather_nd_cells", [(4, 5, 3)], lambda L, k, x: L.Lambda(
            lambda t: _tf().gather_nd(t, [[[0, 1, 4], [0, 1, 0]], [[0, 3, 4], [0, 3, 0]]]))(x)),
        C("gather_nd_points", [(4, 5, 3)], lambda L, k, x: L.Lambda(
            lambda t: _tf().gather_nd(t, [[0, 2, 4], [0, 0, 0], [0, 3, 1], [0, 2, 4]]))(x)),
        C("gather_nd_batch_only", [(2, 7)], lambda L, k, x: L.Lambda(lambda t: _tf().gather_nd(t, [[0], [0]]))(x)),
        C("reverse", [(4, 5, 3)], lambda L, k, x: k.ops.flip(x, axis=1)),
        C("broadcast_to", [(1, 3, 5)], lambda L, k, x: L.Lambda(lambda t: _tf().broadcast_to(t, [1, 4, 3, 5]))(x)),
        C("squeeze", [(4, 1, 3)], lambda L, k, x: L.Dense(2)(L.Lambda(lambda t: _tf().squeeze(t, axis=2))(x))),
        C("resize_nearest_x2", [(3, 4, 2)], lambda L, k, x: k.ops.image.resize(x, (6, 8), interpolation="nearest")),
        C("resize_nearest_down", [(7, 9, 3)], lambda L, k, x: k.ops.image.resize(x, (3, 4), interpolation="nearest")),
        C("resize_nearest_odd", [(4, 5, 2)],
          lambda L, k, x: k.ops.image.resize(x, (7, 3), interpolation="nearest")),
        C("depth_to_space", [(3, 2, 8)], lambda L, k, x: L.Lambda(lambda t: _tf().nn.depth_to_space(t, 2))(x)),
        C("space_to_depth", [(4, 6, 3)], lambda L, k, x: L.Lambda(lambda t: _tf().nn.space_to_depth(t, 2))(x)),
        C("mirror_pad_reflect", [(4, 5, 2)],
          lambda L, k, x: L.Lambda(lambda t: _tf().pad(t, [[0, 0], [1, 2], [2, 1], [0, 0]], "REFLECT"))(x)),
        C("mirror_pad_symmetric", [(3, 4, 2)],
          lambda L, k, x: L.Lambda(lambda t: _tf().pad(t, [[0, 0], [2, 0], [1, 3], [0, 0]], "SYMMETRIC"))(x)),
    ],
    "min_max": [
        C("maximum", [(4, 4, 3), (4, 4, 3)], lambda L, k, a, b: L.Maximum()([a, b])),
        C("minimum", [(5, 3), (5, 3)], lambda L, k, a, b: L.Minimum()([a, b])),
        C("maximum_broadcast", [(4, 1, 3), (1, 5, 3)], lambda L, k, a, b: k.ops.maximum(a, b)),
        C("minimum_const", [(6,)], lambda L, k, a: k.ops.minimum(a, np.float32(0.5))),
        C("mix", [(3, 4, 2), (3, 4, 2)],
          lambda L, k, a, b: k.ops.maximum(k.ops.subtract(a, b), k.ops.minimum(a, b))),
    ],
    # TFLite's integer bilinear resize (Q10 coordinates), each of its three coordinate modes.
    "resize_bilinear": [
        C("upsampling2d_x2", [(3, 4, 2)], lambda L, k, x: L.UpSampling2D(2, interpolation="bilinear")(x)),
        C("upsampling2d_2x3", [(3, 5, 1)], lambda L, k, x: L.UpSampling2D((2, 3), interpolation="bilinear")(x)),
        C("resizing_up_odd", [(3, 4, 3)], lambda L, k, x: L.Resizing(5, 7, interpolation="bilinear")(x)),
        C("resizing_down", [(7, 9, 2)], lambda L, k, x: L.Resizing(3, 4, interpolation="bilinear")(x)),
        C("tf_image_down_odd", [(9, 7, 3)], lambda L, k, x: L.Lambda(lambda t: _tf().image.resize(t, (4, 5)))(x)),
        C("tf_image_mixed", [(5, 3, 2)], lambda L, k, x: L.Lambda(lambda t: _tf().image.resize(t, (2, 8)))(x)),
        C("align_corners_up", [(3, 4, 2)], lambda L, k, x: _bilinear_v1(x, (7, 9), align_corners=True)),
        C("align_corners_down", [(8, 7, 2)], lambda L, k, x: _bilinear_v1(x, (3, 5), align_corners=True)),
        C("align_corners_to_1", [(4, 5, 1)], lambda L, k, x: _bilinear_v1(x, (1, 3), align_corners=True)),
        C("legacy_x2", [(3, 4, 2)], lambda L, k, x: _bilinear_v1(x, (6, 8))),
        C("legacy_odd", [(5, 4, 3)], lambda L, k, x: _bilinear_v1(x, (3, 7))),
        C("one_row_in", [(1, 5, 2)], lambda L, k, x: L.Resizing(3, 8, interpolation="bilinear")(x)),
        C("large_up", [(2, 3, 1)], lambda L, k, x: L.Resizing(19, 31, interpolation="bilinear")(x)),
    ],
    # Both operands activations unless said otherwise, each with its own zero point.
    "batch_matmul": [
        C("plain", [(5, 8), (8, 3)], lambda L, k, a, b: k.ops.matmul(a, b)),
        C("q_kt", [(5, 8), (6, 8)], lambda L, k, a, b: _matmul(a, b, adj_y=True)),
        C("adj_x", [(8, 5), (8, 3)], lambda L, k, a, b: _matmul(a, b, adj_x=True)),
        C("adj_x_adj_y", [(7, 5), (3, 7)], lambda L, k, a, b: _matmul(a, b, adj_x=True, adj_y=True)),
        C("rank4", [(2, 5, 8), (2, 8, 3)], lambda L, k, a, b: k.ops.matmul(a, b)),
        C("broadcast_rhs", [(3, 5, 6), (1, 6, 4)], lambda L, k, a, b: k.ops.matmul(a, b)),
        C("broadcast_lhs_rank3", [(4, 7), (3, 7, 2)], lambda L, k, a, b: k.ops.matmul(a, b)),
        C("const_rhs_batched", [(2, 5, 8)], lambda L, k, a: _matmul(a, _const((2, 8, 3), 1))),
        C("const_rhs_adj_y", [(2, 5, 8)], lambda L, k, a: _matmul(a, _const((2, 3, 8), 2), adj_y=True)),
        C("const_rhs_broadcast_both", [(3, 5, 8)], lambda L, k, a: _matmul(a, _const((2, 1, 8, 4), 3))),
        C("const_lhs", [(2, 8, 5)], lambda L, k, b: _matmul(_const((2, 3, 8), 4), b)),
        C("long_depth_wide", [(3, 600), (40, 600)], lambda L, k, a, b: _matmul(a, b, adj_y=True)),
        C("attention", [(6, 8)], lambda L, k, x: _attention(L, k, x)),
        C("multi_head_attention", [(5, 8)], lambda L, k, x: L.MultiHeadAttention(2, 4)(x, x)),
    ],
}


def _tf():
    import tensorflow as tf
    return tf


def _sqdiff(a, b):
    import keras
    return keras.layers.Lambda(lambda t: _tf().math.squared_difference(t[0], t[1]))([a, b])
def _matmul(a, b, adj_x=False, adj_y=False):
    import keras
    return keras.layers.Lambda(lambda t: _tf().matmul(t[0], t[1], transpose_a=adj_x, transpose_b=adj_y))([a, b])


def _const(shape, seed):
    """A float constant operand; TF quantises it like an activation (own zero point)."""
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _attention(L, k, x):
    """Single-head self-attention: softmax(q k^T / sqrt(d)) v, two BATCH_MATMULs."""
    q, key, v = L.Dense(4)(x), L.Dense(4)(x), L.Dense(4)(x)
    scores = L.Softmax()(L.Rescaling(0.5)(_matmul(q, key, adj_y=True)))
    return _matmul(scores, v)


def _bilinear_v1(x, size, align_corners=False):
    """RESIZE_BILINEAR without half-pixel centres (TF1's resize_bilinear), aligned or not."""
    import keras
    return keras.layers.Lambda(lambda t: _tf().compat.v1.image.resize_bilinear(
        t, size, align_corners=align_corners, half_pixel_centers=False))(x)



def _random_window(rng, size_max=12, kernel_max=5, allow_dilation=True):
    """Random (in_h, in_w, kh, kw, stride, dilation, padding) with a non-empty output."""
    while True:
        in_h, in_w = (int(v) for v in rng.integers(1, size_max + 1, 2))
        kh, kw = (int(v) for v in rng.integers(1, kernel_max + 1, 2))
        dil = (1, 1)
        if allow_dilation and rng.random() < 0.25:
            dil = tuple(int(v) for v in rng.integers(1, 4, 2))
        stride = (1, 1) if dil != (1, 1) else tuple(int(v) for v in rng.integers(1, 4, 2))
        padding = str(rng.choice(["same", "valid"]))
        eff = ((kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1)
        if padding == "same" or (in_h >= eff[0] and in_w >= eff[1]):
            return in_h, in_w, (kh, kw), stride, dil, padding


def random_conv_cases(seed, count, depthwise=False):
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        in_h, in_w, k, stride, dil, padding = _random_window(rng)
        in_c = int(rng.integers(1, 9))
        act = [None, "relu", "relu6"][int(rng.integers(0, 3))]
        bias = bool(rng.random() < 0.8)
        if depthwise:
            mult = int(rng.choice([1, 1, 2, 3]))
            build = dwconv(k, mult, stride, padding, dil, act, bias)
            desc = f"m{mult}"
        else:
            filters = int(rng.integers(1, 9))
            build = conv(filters, k, stride, padding, dil, act, bias)
            desc = f"f{filters}"
        cases.append(C(f"r{i}_{in_h}x{in_w}x{in_c}_k{k[0]}x{k[1]}_s{stride[0]}x{stride[1]}"
                       f"_d{dil[0]}x{dil[1]}_{padding}_{desc}_{act}", [(in_h, in_w, in_c)], build))
    return cases


def random_pool_cases(seed, count):
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        in_h, in_w, k, stride, _dil, padding = _random_window(rng, kernel_max=4, allow_dilation=False)
        kind = str(rng.choice(["avg", "max"]))
        in_c = int(rng.integers(1, 6))
        cases.append(C(f"r{i}_{kind}_{in_h}x{in_w}x{in_c}_k{k[0]}x{k[1]}_s{stride[0]}x{stride[1]}_{padding}",
                       [(in_h, in_w, in_c)], pool(kind, k, stride, padding)))
    return cases


def random_broadcast_cases(seed, count, ops=("add", "mul")):
    """ADD, MUL (or SUB, SQUARED_DIFFERENCE) of two rank-3 inputs, each dim of each input either the
    full extent or 1."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        full = tuple(int(v) for v in rng.integers(1, 6, 3))
        a = tuple(d if rng.random() < 0.7 else 1 for d in full)
        b = tuple(d if rng.random() < 0.5 else 1 for d in full)
        a = tuple(max(x, y) if x == 1 and y == 1 else x for x, y in zip(a, full))  # keep output = full
        op = str(rng.choice(list(ops)))
        act = bool(rng.random() < 0.3)

        def build(L, k, x, y, op=op, act=act):
            z = {"add": k.ops.add, "mul": k.ops.multiply, "sub": k.ops.subtract, "sqdiff": _sqdiff}[op](x, y)
            return L.ReLU()(z) if act else z
        cases.append(C(f"r{i}_{op}_{'x'.join(map(str, a))}_{'x'.join(map(str, b))}{'_relu' if act else ''}",
                       [a, b], build))
    return cases


FAMILIES["conv2d_random"] = random_conv_cases(100, 16)
FAMILIES["depthwise_random"] = random_conv_cases(200, 16, depthwise=True)
FAMILIES["pool_random"] = random_pool_cases(300, 16)
FAMILIES["broadcast_random"] = random_broadcast_cases(400, 12)
# SUB, either side broadcast: TFLite's SUB is ADD with the second input's multiplier negated.
FAMILIES["sub_random"] = random_broadcast_cases(700, 12, ops=("sub",))
# Per-tensor weight quantisation (channel_quant == 1), which TF only does when asked.
FAMILIES["conv2d_per_tensor"] = random_conv_cases(500, 8)
FAMILIES["depthwise_per_tensor"] = random_conv_cases(600, 8, depthwise=True)
FAMILIES["dense_per_tensor"] = [
    C("16_8", [(16,)], dense(8)),
    C("40_10_relu", [(40,)], dense(10, "relu")),
    C("wide_300", [(300,)], dense(20)),
    C("flatten_nobias", [(4, 4, 3)], dense(6, bias=False, flatten=True)),
]


def random_dense_cases(seed, count):
    """Dense layers of random feature, unit and row counts (any remainder
    mod four, above 512 features now and then), activation and bias."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        features = int(rng.integers(1, 80)) if rng.random() < 0.8 else int(rng.integers(500, 700))
        units = int(rng.integers(1, 41))
        rows = int(rng.choice([1, 1, 2, 3]))
        act = [None, "relu", "relu6"][int(rng.integers(0, 3))]
        bias = bool(rng.random() < 0.7)
        shape = (features,) if rows == 1 else (rows, features)
        cases.append(C(f"r{i}_{rows}x{features}_u{units}_{act}_{'b' if bias else 'nob'}", [shape],
                       dense(units, act, bias)))
    return cases


# FULLY_CONNECTED_W16 (convert_tflite(fc_weights="int16")): pre-widened weights, per-channel and per-tensor.
FAMILIES["dense_w16"] = random_dense_cases(1100, 12)
FAMILIES["dense_w16_per_tensor"] = random_dense_cases(1200, 8)
# FULLY_CONNECTED_PAIRS (fc_weights="pairs"): two rows a word, bias folded with the input offset.
FAMILIES["dense_pairs"] = random_dense_cases(1300, 12)
FAMILIES["dense_pairs_per_tensor"] = random_dense_cases(1400, 8)
PER_TENSOR_W16 = {"dense_w16_per_tensor", "dense_pairs_per_tensor"}
# The families converted with an fc_weights layout, and the op it must lower to.
FC_LAYOUT = {"dense_w16": "int16", "dense_w16_per_tensor": "int16",
             "dense_pairs": "pairs", "dense_pairs_per_tensor": "pairs"}
FC_LAYOUT_OP = {"int16": "FULLY_CONNECTED_W16", "pairs": "FULLY_CONNECTED_PAIRS"}
# Inputs of one tensor share a scale; inputs of their own calibration each have theirs.
FAMILIES["squared_difference"] = [
    C("same_shape", [(4, 4, 3), (4, 4, 3)], lambda L, k, a, b: _sqdiff(a, b)),
    C("broadcast_both", [(4, 1, 3), (1, 5, 3)], lambda L, k, a, b: _sqdiff(a, b)),
    C("broadcast_channel", [(5, 3), (5, 1)], lambda L, k, a, b: _sqdiff(a, b)),
    C("broadcast_first", [(1, 7), (3, 7)], lambda L, k, a, b: _sqdiff(a, b)),
    C("rank1_scalar", [(7,), (1,)], lambda L, k, a, b: _sqdiff(a, b)),
    C("equal_scales", [(3, 5, 6)], lambda L, k, x: _sqdiff(x[..., :3], x[..., 3:])),
    C("const_operand", [(9,)], lambda L, k, x: L.Lambda(lambda t: _tf().math.squared_difference(t, 0.75))(x)),
    C("then_dense", [(5, 3), (5, 3)], lambda L, k, a, b: L.Dense(4)(_sqdiff(a, b))),
]
FAMILIES["squared_difference_random"] = random_broadcast_cases(800, 12, ops=("sqdiff",))


def prelu(shared_axes=None, alpha=(-0.6, 1.4)):
    """Keras' PReLU with random alphas in `alpha` (its default is all zeros): a constant alpha
    tensor with one entry per position outside shared_axes, broadcast against the input."""
    return lambda L, k, x: L.PReLU(alpha_initializer=k.initializers.RandomUniform(*alpha),
                                   shared_axes=shared_axes)(x)


def random_prelu_cases(seed, count):
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        shape = tuple(int(v) for v in rng.integers(1, 7, 3))
        shared = [a for a in (1, 2, 3) if rng.random() < 0.5] or None
        alpha = [(-0.6, 1.4), (-2.0, -0.2), (0.5, 3.0)][int(rng.integers(0, 3))]
        cases.append(C(f"r{i}_{'x'.join(map(str, shape))}_shared{''.join(map(str, shared or []))}"
                       f"_a{alpha[0]:g}_{alpha[1]:g}", [shape], prelu(shared, alpha)))
    return cases


FAMILIES["prelu"] = [
    C("features", [(7,)], prelu()),
    C("full_alpha", [(3, 5, 4)], prelu()),
    C("shared_hw", [(5, 4, 3)], prelu([1, 2])),
    C("shared_rows", [(4, 3)], prelu([1])),
    C("shared_w", [(3, 5, 2)], prelu([2])),
    C("shared_all", [(3, 3, 3)], prelu([1, 2, 3])),
    C("negative_alpha", [(6, 5)], prelu([1], (-1.5, -0.1))),
    C("alpha_above_one", [(9,)], prelu(None, (1.0, 4.0))),
    C("after_conv", [(7, 7, 2)], lambda L, k, x: prelu([1, 2])(L, k, conv(5, 3)(L, k, x))),
]
FAMILIES["prelu_random"] = random_prelu_cases(900, 12)


def log_softmax(scale=1.0):
    """tf.nn.log_softmax over the last axis, of the input times `scale` (which sets the input scale)."""
    return lambda L, k, x: L.Lambda(lambda t: _tf().nn.log_softmax(t * scale))(x)


# Input scales from 1/64 to 1/2 of the calibration range: small ones leave most of a row above
# diff_min, large ones cut it to the few values near the maximum.
FAMILIES["log_softmax"] = [
    C("vector_10", [(10,)], log_softmax()),
    C("rows_7x5", [(7, 5)], log_softmax()),
    C("image_3x3x11", [(3, 3, 11)], log_softmax()),
    C("single", [(4, 1)], log_softmax()),
    C("pair", [(2,)], log_softmax()),
    C("wide_odd_301", [(301,)], log_softmax()),
    C("wide_4095", [(4095,)], log_softmax(0.25)),
    C("small_scale", [(6, 13)], log_softmax(0.05)),
    C("large_scale", [(5, 9)], log_softmax(20.0)),
    C("after_dense", [(12,)], lambda L, k, x: log_softmax()(L, k, L.Dense(7)(x))),
]


def random_row_cases(seed, count, op):
    """`op(scale)` on random rank 1 to 3 shapes, odd sizes included, input scales 1/64 to 16 times
    the calibration's."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        shape = tuple(int(v) for v in rng.integers(1, 8, int(rng.integers(0, 3)))) + (int(rng.integers(1, 40)),)
        scale = float(2.0 ** rng.uniform(-6, 4))
        cases.append(C(f"r{i}_{'x'.join(map(str, shape))}_s{scale:.3g}", [shape], op(scale)))
    return cases


FAMILIES["log_softmax_random"] = random_row_cases(1000, 12, log_softmax)


def l2_normalize(scale=1.0):
    """tf.math.l2_normalize over the last axis, of the input times `scale`."""
    return lambda L, k, x: L.Lambda(lambda t: _tf().math.l2_normalize(t * scale, axis=-1))(x)


# After a ReLU, the all -128 input set gives rows of zeros (TFLite's sum-of-squares 0 case).
FAMILIES["l2_normalization"] = [
    C("vector_10", [(10,)], l2_normalize()),
    C("rows_7x5", [(7, 5)], l2_normalize()),
    C("image_3x3x11", [(3, 3, 11)], l2_normalize()),
    C("single", [(4, 1)], l2_normalize()),
    C("wide_odd_301", [(301,)], l2_normalize()),
    C("wide_2049", [(2049,)], l2_normalize()),
    C("small_scale", [(6, 13)], l2_normalize(0.01)),
    C("after_relu", [(5, 3)], lambda L, k, x: l2_normalize()(L, k, L.ReLU()(x))),
    C("after_dense", [(12,)], lambda L, k, x: l2_normalize()(L, k, L.Dense(7)(x))),
]
FAMILIES["l2_normalization_random"] = random_row_cases(1100, 12, l2_normalize)


def random_resize_cases(seed, count):
    """RESIZE_BILINEAR between random sizes (up, down, mixed, odd), each coordinate mode."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        in_h, in_w, out_h, out_w = (int(v) for v in rng.integers(1, 12, 4))
        c = int(rng.integers(1, 5))
        mode = str(rng.choice(["half_pixel", "align_corners", "legacy"]))
        if mode == "half_pixel":
            def build(L, k, x, size=(out_h, out_w)):
                return k.ops.image.resize(x, size, interpolation="bilinear")
        else:
            def build(L, k, x, size=(out_h, out_w), align=mode == "align_corners"):
                return _bilinear_v1(x, size, align_corners=align)
        cases.append(C(f"r{i}_{in_h}x{in_w}x{c}_to_{out_h}x{out_w}_{mode}", [(in_h, in_w, c)], build))
    return cases


FAMILIES["resize_bilinear_random"] = random_resize_cases(800, 16)
# Keras' UpSampling (nearest) repeats through rank-5 tensors (EXPAND_DIMS,
# TILE, RESHAPE), which tinyml never stores: the chain becomes one REMAP.
FAMILIES["upsampling_nearest"] = [
    C("x2", [(3, 4, 2)], lambda L, k, x: L.UpSampling2D(2)(x)),
    C("2x3", [(3, 5, 1)], lambda L, k, x: L.UpSampling2D((2, 3))(x)),
    C("3x1_odd", [(5, 3, 3)], lambda L, k, x: L.UpSampling2D((3, 1))(x)),
    C("after_conv", [(4, 4, 2)], lambda L, k, x: L.UpSampling2D(2)(L.Conv2D(3, 3, padding="same")(x))),
    C("twice", [(2, 3, 2)], lambda L, k, x: L.UpSampling2D(2)(L.UpSampling2D((1, 2))(x))),
    C("1d_x2", [(7, 3)], lambda L, k, x: L.UpSampling1D(2)(x)),
    C("1d_x3", [(5, 2)], lambda L, k, x: L.UpSampling1D(3)(x)),
    C("repeat_5d", [(2, 3, 2)], lambda L, k, x: k.ops.repeat(x, 3, axis=-1)),
]


def random_matmul_cases(seed, count):
    """BATCH_MATMUL with odd sizes, every adj_x / adj_y, rank 3 or 4 with
    either batch broadcast, and now and then a constant rhs."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        m, n, d = (int(v) for v in rng.integers(1, 10, 3))
        adj_x, adj_y = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
        lhs = (d, m) if adj_x else (m, d)
        rhs = (n, d) if adj_y else (d, n)
        h = int(rng.integers(1, 4))
        if rng.random() < 0.6:
            lhs = ((h if rng.random() < 0.7 else 1),) + lhs
            rhs = ((1 if lhs[0] == h and rng.random() < 0.4 else h),) + rhs
        if adj_x and len(lhs) == 3 and lhs[0] > 1:
            # Broadcasting a rhs against several adj_x lhs matrices is refused
            # (TFLite computes the first one only; test_converter.py).
            rhs = (lhs[0],) + rhs[-2:]
        const = bool(rng.random() < 0.3)
        tag = f"r{i}_{'x'.join(map(str, lhs))}_{'x'.join(map(str, rhs))}{'_adjx' if adj_x else ''}" \
              f"{'_adjy' if adj_y else ''}{'_const' if const else ''}"
        if const:
            def build(L, k, a, rhs=rhs, adj_x=adj_x, adj_y=adj_y, i=i):
                return _matmul(a, _const((2,) + rhs, i), adj_x, adj_y)
            cases.append(C(tag, [lhs], build))
        else:
            def build(L, k, a, b, adj_x=adj_x, adj_y=adj_y):
                return _matmul(a, b, adj_x, adj_y)
            cases.append(C(tag, [lhs, rhs], build))
    return cases


FAMILIES["batch_matmul_random"] = random_matmul_cases(900, 16)
PER_TENSOR = {"conv2d_per_tensor", "depthwise_per_tensor", "dense_per_tensor"} | PER_TENSOR_W16


def tconv(filters, kernel, strides=1, padding="valid", activation=None, bias=True, output_padding=None,
          dims=2):
    """Conv2DTranspose (or Conv1DTranspose); a bias drawn at random, since TF
    drops an all-zero one."""
    layer = "Conv2DTranspose" if dims == 2 else "Conv1DTranspose"
    return lambda L, k, x: getattr(L, layer)(
        filters, kernel, strides=strides, padding=padding, activation=activation, use_bias=bias,
        output_padding=output_padding, bias_initializer="random_normal")(x)


def random_tconv_cases(seed, count):
    """TRANSPOSE_CONV over odd sizes, kernels 1-5 (below, at and above the
    stride), strides 1-3 per axis, both paddings, Keras' output_padding,
    bias or not, RELU or RELU6 (TF fuses RELU6 only after a bias), and one
    case in five 1-D."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        dims = 1 if rng.random() < 0.2 else 2
        size = tuple(int(v) for v in rng.integers(1, 10, dims))
        kernel = tuple(int(v) for v in rng.integers(1, 6, dims))
        stride = tuple(int(v) for v in rng.integers(1, 4, dims))
        padding = str(rng.choice(["same", "valid"]))
        out_pad = None
        if rng.random() < 0.3:
            out_pad = tuple(int(rng.integers(0, s)) for s in stride)
        in_c, filters = (int(v) for v in rng.integers(1, 9, 2))
        act = [None, "relu", "relu6"][int(rng.integers(0, 3))]
        bias = bool(rng.random() < 0.8)
        build = tconv(filters, kernel, stride, padding, act, bias, out_pad, dims)
        cases.append(C(f"r{i}_{'x'.join(map(str, size))}x{in_c}_k{'x'.join(map(str, kernel))}"
                       f"_s{'x'.join(map(str, stride))}_{padding}_op{out_pad}_f{filters}_{act}_b{int(bias)}",
                       [size + (in_c,)], build))
    return cases


FAMILIES["transpose_conv"] = [
    C("k3_s2_same_relu", [(5, 6, 3)], tconv(4, 3, 2, "same", "relu")),
    C("k2_s1_valid_nobias", [(5, 6, 3)], tconv(4, 2, 1, "valid", bias=False)),
    C("k4_s2_valid_even", [(4, 5, 2)], tconv(3, 4, 2, "valid")),
    C("k4_s2_same_even", [(3, 5, 2)], tconv(3, 4, 2, "same")),
    C("k5_s3_same", [(3, 4, 2)], tconv(2, 5, 3, "same")),
    C("k2_s3_valid_gaps", [(3, 3, 2)], tconv(3, 2, 3, "valid")),
    C("k1_s2_same", [(4, 3, 3)], tconv(2, 1, 2, "same")),
    C("k3x2_s2x1_same", [(4, 5, 3)], tconv(5, (3, 2), (2, 1), "same")),
    C("output_padding_valid", [(4, 4, 2)], tconv(3, 3, 2, "valid", output_padding=1)),
    C("output_padding_same_s3", [(4, 3, 2)], tconv(2, 3, 3, "same", output_padding=(2, 1))),
    C("relu6_fused", [(3, 4, 4)], tconv(4, 3, 2, "same", "relu6")),
    C("relu6_after_nobias", [(3, 4, 4)], tconv(4, 3, 2, "same", "relu6", bias=False)),
    C("wide_channels", [(3, 3, 20)], tconv(9, 3, 2, "same", "relu")),
    C("conv1d_s2_same", [(7, 3)], tconv(4, 3, 2, "same", dims=1)),
    C("conv1d_k4_s3_valid_relu", [(5, 2)], tconv(3, 4, 3, "valid", "relu", dims=1)),
]
FAMILIES["transpose_conv_random"] = random_tconv_cases(800, 16)
FAMILIES["transpose_conv_per_tensor"] = random_tconv_cases(900, 6)
PER_TENSOR.add("transpose_conv_per_tensor")


def _reduce(kind, axis, keepdims=False):
    """tf.reduce_max / reduce_min / reduce_sum in a Lambda layer."""
    return lambda L, k, x: L.Lambda(
        lambda t: getattr(_tf(), f"reduce_{kind}")(t, axis=axis, keepdims=keepdims))(x)


def _arg(kind, axis, int64=False):
    """tf.math.argmax / argmin, int32 or TF's default int64 indices."""
    return lambda L, k, x: L.Lambda(lambda t: getattr(_tf().math, f"arg{kind}")(
        t, axis=axis, output_type=_tf().int64 if int64 else _tf().int32))(x)


# Every output element one of the input's (REDUCE_MAX / REDUCE_MIN share its quantisation).
FAMILIES["reduce_max_min"] = [
    C("max_last", [(4, 5, 6)], _reduce("max", -1)),
    C("min_last_keepdims", [(3, 5, 7)], _reduce("min", -1, True)),
    C("max_axis1_keepdims", [(5, 3, 4)], _reduce("max", 1, True)),
    C("min_hw", [(4, 5, 3)], _reduce("min", [1, 2])),
    C("max_all", [(2, 3, 5)], _reduce("max", [1, 2, 3])),
    C("min_all_keepdims", [(3, 3, 3)], _reduce("min", [-3, -2, -1], True)),
    C("max_not_adjacent", [(3, 4, 5)], _reduce("max", [1, 3])),
    C("min_not_adjacent_negative", [(5, 2, 3)], _reduce("min", [-1, -3], True)),
    C("max_rank2", [(9,)], _reduce("max", -1)),
    C("min_rank3_axis1", [(6, 4)], _reduce("min", 1)),
    C("max_unit_axis", [(1, 4, 3)], _reduce("max", [1])),
    C("global_max_pool_2d", [(6, 5, 4)], lambda L, k, x: L.GlobalMaxPooling2D()(x)),
    C("global_max_pool_2d_keepdims", [(5, 7, 3)], lambda L, k, x: L.GlobalMaxPooling2D(keepdims=True)(x)),
    C("global_max_pool_1d", [(11, 4)], lambda L, k, x: L.GlobalMaxPooling1D()(x)),
    C("keras_ops_max", [(4, 6)], lambda L, k, x: k.ops.max(x, axis=-1)),
    C("keras_ops_min_after_conv", [(6, 6, 2)], lambda L, k, x: k.ops.min(L.Conv2D(3, 3)(x), axis=[1, 2])),
]
# SUM requantises (TFLite's QuantizedMeanOrSum with compute_sum) whenever
# the quantisation changes, which calibration always makes it do; the
# oracle is TFLite's default kernel there (parity.Oracle says why).
FAMILIES["sum"] = [
    C("last", [(4, 5, 6)], _reduce("sum", -1)),
    C("last_keepdims", [(3, 5, 7)], _reduce("sum", -1, True)),
    C("axis1", [(5, 3, 4)], _reduce("sum", 1)),
    C("hw_keepdims", [(4, 5, 3)], _reduce("sum", [1, 2], True)),
    C("all", [(2, 3, 5)], _reduce("sum", [1, 2, 3])),
    C("not_adjacent", [(3, 4, 5)], _reduce("sum", [1, 3])),
    C("not_adjacent_negative", [(5, 2, 3)], _reduce("sum", [-3, -1], True)),
    C("rank2", [(13,)], _reduce("sum", -1)),
    C("large_count", [(16, 16, 4)], _reduce("sum", [1, 2])),
    C("after_relu", [(4, 4, 3)], lambda L, k, x: _reduce("sum", -1)(L, k, L.ReLU()(x))),
    C("keras_ops_sum", [(5, 6)], lambda L, k, x: k.ops.sum(x, axis=1)),
]
# Indices of the first largest / smallest value; the all -128 and all 127
# input sets make every position a tie.
FAMILIES["arg_max_min"] = [
    C("argmax_last_int32", [(4, 5, 6)], _arg("max", -1)),
    C("argmax_last_int64", [(3, 7)], _arg("max", -1, int64=True)),
    C("argmin_axis1_int32", [(5, 4, 3)], _arg("min", 1)),
    C("argmin_axis_minus2_int64", [(4, 6, 2)], _arg("min", -2, int64=True)),
    C("argmax_axis2_int64", [(3, 5, 4)], _arg("max", 2, int64=True)),
    C("argmin_rank2_int32", [(9,)], _arg("min", 1)),
    C("argmax_unit_axis", [(1, 4)], _arg("max", 1)),
    C("argmax_classes", [(12,)], lambda L, k, x: _arg("max", -1)(L, k, L.Dense(10)(x))),
    C("argmin_after_conv", [(5, 6, 2)], lambda L, k, x: _arg("min", -1)(L, k, L.Conv2D(4, 3)(x))),
]


def random_reduce_cases(seed, count):
    """REDUCE_MAX, REDUCE_MIN, SUM over a random non-empty set of non-batch
    axes (negative or not, keepdims or not), ARG_MAX / ARG_MIN over one, of
    rank-2..4 inputs (batch included) with extents 1..7."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        rank = int(rng.integers(1, 4))
        shape = tuple(int(v) for v in rng.integers(1, 8, rank))
        kind = str(rng.choice(["max", "min", "sum", "argmax", "argmin"]))
        if kind.startswith("arg"):
            axes = [int(rng.integers(1, rank + 1))]
        else:
            n = int(rng.integers(1, rank + 1))
            axes = sorted(int(a) for a in rng.choice(np.arange(1, rank + 1), n, replace=False))
        axes = [a - (rank + 1) if rng.random() < 0.4 else a for a in axes]
        keepdims = bool(rng.random() < 0.5)
        if kind.startswith("arg"):
            int64 = bool(rng.random() < 0.5)
            build = _arg(kind[3:], axes[0], int64)
            desc = "int64" if int64 else "int32"
        else:
            build = _reduce(kind, axes, keepdims)
            desc = "keep" if keepdims else "drop"
        cases.append(C(f"r{i}_{kind}_{'x'.join(map(str, shape))}_ax{'_'.join(map(str, axes))}_{desc}",
                       [shape], build))
    return cases


FAMILIES["reduce_random"] = random_reduce_cases(800, 24)

# The families whose ops run 16x8 too, generated shapes included: the same
# cases quantised 16x8 (int16 activations, int8 weights) by TF and run
# against TFLite alike, less the cases TF 2.21 itself cannot: its 16x8
# quantiser refuses DEPTH_TO_SPACE and SPACE_TO_DEPTH, its TILE kernel
# int16, and the PADV2 it writes keeps a float32 pad value that its own
# kernel then rejects. (Not here: the LUT families, most of whose ops TFLite
# has no int16 kernel for; upsampling_nearest, a TILE; the per-tensor ones,
# TF's per-tensor switch failing on 16x8 depthwise.)
S16_FAMILIES = {
    "conv2d": (), "depthwise": (), "dense": (), "pool": (), "mean": (), "add": (), "mul": (), "concat": (),
    "pad": ("pad_value",), "softmax": (), "reshape": (), "remap": ("tile", "depth_to_space", "space_to_depth"),
    "min_max": (), "resize_bilinear": (), "batch_matmul": (), "conv2d_random": (), "depthwise_random": (),
    "pool_random": (), "broadcast_random": (), "sub_random": (), "resize_bilinear_random": (),
    "transpose_conv": (), "transpose_conv_random": (), "reduce_max_min": (), "batch_matmul_random": (),
}
for _family, _tf_cannot in S16_FAMILIES.items():
    FAMILIES["s16_" + _family] = [c for c in FAMILIES[_family] if c.id not in _tf_cannot]

CASES = [(fam, case.id) for fam, cases in FAMILIES.items() for case in cases]
_OUTCOMES = {}
TFLITE_OPS_SEEN = set()
SOURCE = parity.source_of(__file__, parity.__file__)


def build_model(name, cases):
    import keras

    keras.utils.set_random_seed(sum(map(ord, name)))
    L = keras.layers
    inputs, outputs = [], []
    for ci, case in enumerate(cases):
        xs = [keras.Input(s, name=f"c{ci}_in{j}") for j, s in enumerate(case.shapes)]
        inputs += xs
        outputs.append(case.build(L, keras, *xs))
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(sum(map(ord, name)))
    calib = [rng.normal(size=(32, *s)).astype(np.float32) * rng.uniform(0.5, 3) for s in
             (tuple(x.shape[1:]) for x in inputs)]
    return model, calib


def run_cases(name, cases):
    """{case id: None (identical) or a description of the difference}."""
    tfl = parity.quantize(lambda: build_model(name, cases), parity.cache_key("ops", name, SOURCE),
                          per_tensor=name.split("/")[0] in PER_TENSOR, int16=name.startswith("s16_"))
    rng = np.random.default_rng(7)
    layout = FC_LAYOUT.get(name.split("/")[0])
    blob_kwargs = {"fc_weights": layout} if layout else None
    oracle, tfl_outs, host_outs = parity.evaluate(tfl, lambda o: parity.random_inputs(o, rng, 5), blob_kwargs)
    assert len(oracle.out_pos) == len(cases)
    if blob_kwargs:
        from tinyml_converter.blob import read_blob
        from tinyml_converter.convert import tflite_to_blob

        ran = {op["name"] for op in read_blob(tflite_to_blob(tfl, **blob_kwargs)).ops}
        assert FC_LAYOUT_OP[layout] in ran and "FULLY_CONNECTED" not in ran, ran
    model = read_tflite(tfl)
    TFLITE_OPS_SEEN.update(op.name for op in model.ops)
    # Tables are not needed to see what each op lowers to.
    unlisted = coverage.unlisted(coverage.lowered_pairs(lower(model, lut_fn=lambda m, op: bytes(256))))
    assert not unlisted, f"lowerings missing from coverage.ROWS (docs/ops.md): {unlisted}"
    result = {}
    for k, case in enumerate(cases):
        problems = [parity.compare([t[k]], [h[k]]) for t, h in zip(tfl_outs, host_outs)]
        problems = [f"input set {i}: {p}" for i, p in enumerate(problems) if p]
        result[case.id] = ("diff", "; ".join(problems) or None)
    return result


def family_outcomes(family):
    if family in _OUTCOMES:
        return _OUTCOMES[family]
    cases = FAMILIES[family]
    try:
        out = run_cases(family, cases)
    except (Exception, pytest.skip.Exception):
        out = {}
        for case in cases:
            try:
                out.update(run_cases(f"{family}/{case.id}", [case]))
            except pytest.skip.Exception as e:
                out[case.id] = ("skip", str(e))
            except Exception as e:  # noqa: BLE001 - reported as this case's failure
                out[case.id] = ("error", f"{type(e).__name__}: {e}")
    _OUTCOMES[family] = out
    return out


@pytest.mark.parametrize("family,case_id", CASES, ids=[f"{f}-{c}" for f, c in CASES])
def test_op_parity(family, case_id):
    kind, message = family_outcomes(family)[case_id]
    if kind == "skip":
        pytest.skip(message)
    if kind == "error":
        pytest.fail(message)
    assert message is None, message


# TF's quantiser keeps these in float, yet TFLite has int8 kernels for them
# and other tools emit them: a sigmoid model with its LOGISTIC opcode
# swapped gives TFLite's int8 version of each to compare against.
SWAPPED_LUT_OPS = ("ELU", "NEG", "RELU_0_TO_1")
NO_INT8_IN_TFLITE = ("SQUARE", "SIN", "COS")


def _swapped_opcode(tfl: bytes, name: str, source="LOGISTIC", edit=None) -> bytes:
    """The model with its one `source` op made a `name` op; edit(op, schema)
    adapts the operands and options."""
    import flatbuffers
    from tinyml_converter.tflite_model import schema

    s = schema()
    m = s.ModelT.InitFromPackedBuf(tfl, 0)
    code = getattr(s.BuiltinOperator, name)
    swapped = [k for k, oc in enumerate(m.operatorCodes) if oc.builtinCode == getattr(s.BuiltinOperator, source)]
    assert len(swapped) == 1
    oc = m.operatorCodes[swapped[0]]
    oc.builtinCode = code
    oc.deprecatedBuiltinCode = min(code, s.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES)
    oc.version = 1
    ops = [op for op in m.subgraphs[0].operators if op.opcodeIndex == swapped[0]]
    assert len(ops) == 1, f"{len(ops)} {source} ops"
    if edit:
        edit(ops[0], s)
    builder = flatbuffers.Builder(1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _sigmoid_model():
    import keras

    keras.utils.set_random_seed(3)
    x = keras.Input((10,))
    y = keras.layers.Activation("sigmoid")(keras.layers.Dense(12)(x))
    return keras.Model(x, y), [np.random.default_rng(3).normal(size=(32, 10)).astype(np.float32) * 2]


@pytest.mark.parametrize("name", SWAPPED_LUT_OPS)
def test_lut_op_swapped_in(name):
    tfl = _swapped_opcode(parity.quantize(_sigmoid_model, parity.cache_key("ops", "lut_swap", SOURCE)), name)
    try:
        oracle = parity.Oracle(tfl)
        oracle.run([np.zeros(oracle.input_shapes[0], np.int8)])
    except (RuntimeError, ValueError) as e:
        pytest.fail(f"TFLite has no int8 {name} for this quantisation ({e}): drop it from lut.LUT_OPS")
    TFLITE_OPS_SEEN.add(name)
    rng = np.random.default_rng(11)
    _, tfl_outs, host_outs = parity.evaluate(tfl, lambda o: parity.random_inputs(o, rng, 5))
    for t, h in zip(tfl_outs, host_outs):
        assert parity.compare(t, h) is None, parity.compare(t, h)


@pytest.mark.parametrize("name", NO_INT8_IN_TFLITE)
def test_op_without_int8_kernel_refused(name):
    """An op TFLite cannot run on int8 is refused by name, not tabulated."""
    from tinyml_converter.convert import tflite_to_blob
    from tinyml_converter.errors import ConversionError

    tfl = _swapped_opcode(parity.quantize(_sigmoid_model, parity.cache_key("ops", "lut_swap", SOURCE)), name)
    with pytest.raises(RuntimeError, match="INT8 is unsupported by op"):
        parity.Oracle(tfl).run([np.zeros((1, 10), np.int8)])
    with pytest.raises(ConversionError, match=f"op {name} is not supported"):
        tflite_to_blob(tfl)


def test_squeeze():
    """TF writes tf.squeeze as RESHAPE; other tools write SQUEEZE."""
    def build():
        import keras

        keras.utils.set_random_seed(4)
        x = keras.Input((4, 1, 3))
        y = keras.layers.Softmax()(keras.layers.Reshape((4, 3))(x))
        return keras.Model(x, y), [np.random.default_rng(4).normal(size=(32, 4, 1, 3)).astype(np.float32)]

    def to_squeeze(op, s):
        op.inputs = op.inputs[:1]
        op.builtinOptionsType = s.BuiltinOptions.SqueezeOptions
        op.builtinOptions = s.SqueezeOptionsT()
        op.builtinOptions.squeezeDims = [2]

    tfl = _swapped_opcode(parity.quantize(build, parity.cache_key("ops", "squeeze_swap", SOURCE)), "SQUEEZE",
                          source="RESHAPE", edit=to_squeeze)
    TFLITE_OPS_SEEN.add("SQUEEZE")
    rng = np.random.default_rng(12)
    _, tfl_outs, host_outs = parity.evaluate(tfl, lambda o: parity.random_inputs(o, rng, 5))
    for t, h in zip(tfl_outs, host_outs):
        assert parity.compare(t, h) is None, parity.compare(t, h)


def test_stateful_ops_parity():
    """UNIDIRECTIONAL_SEQUENCE_LSTM and SVDF need what the families cannot
    give (tf_keras to fuse an LSTM, a hand-written file for SVDF); their full
    parity families are test_lstm.py and test_svdf.py. One model of each here,
    several invokes in a row (the state carries over on both), so that this
    file's op census sees them."""
    import test_lstm
    import test_svdf

    for name, tfl in (("UNIDIRECTIONAL_SEQUENCE_LSTM", test_lstm.lstm_model(40, 1, 5, 3, 6)),
                      ("SVDF", test_svdf.svdf_model(40, 1, 6, 4, 2, 5))):
        rng = np.random.default_rng(40)
        oracle, tfl_outs, host_outs = parity.evaluate(tfl, lambda o: parity.random_inputs(o, rng, 6))
        assert oracle.resolver == "BUILTIN_REF"
        for t, h in zip(tfl_outs, host_outs):
            assert parity.compare(t, h) is None, (name, parity.compare(t, h))
        TFLITE_OPS_SEEN.add(name)


# Ops whose parity with TFLite is checked in another file, and why not here.
PARITY_ELSEWHERE = {
    "DIV": "test_s16.py, every int8 dividend and divisor: TFLite refuses any raw 0 in a divisor "
           "tensor, which this file's random inputs reach",
    **{name: "test_s16.py, hand-written models: the bool tensor between a comparison and SELECT"
       for name in ("EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL",
                    "SELECT", "SELECT_V2")},
}


def test_every_listed_op_has_parity():
    """Each TFLite op docs/ops.md lists as int8 appears in some family's model
    (run last: it needs every family's outcome)."""
    if set(_OUTCOMES) != set(FAMILIES):
        pytest.skip("needs every family; run the whole file")
    # Every family's model has int8 I/O: the float-I/O edge is test_converter.py's.
    seen = TFLITE_OPS_SEEN | {"DEQUANTIZE"} | set(PARITY_ELSEWHERE)
    untested = sorted(name for name, row in coverage.ROWS.items() if "int8" in row.dtypes and name not in seen)
    assert not untested, f"listed as int8 in docs/ops.md but in no parity family: {untested}"


def test_gather_nd_of_scattered_points_is_refused_by_name():
    """GATHER_ND of points that are no product of per-axis index lists (a
    2 x 2 output here; along one output axis any points are) has no REMAP
    form: refused with the op named, not converted wrongly."""
    from tflite_build import Builder
    from tinyml_converter.convert import tflite_to_blob
    from tinyml_converter.errors import ConversionError

    b = Builder()
    i = b.tensor("in", [1, 4, 5], np.int8, 0.05, 3)
    idx = b.tensor("idx", [2, 2, 3], np.int32, data=[0, 2, 4, 0, 0, 0, 0, 3, 1, 0, 2, 4])
    o = b.tensor("out", [2, 2], np.int8, 0.05, 3)
    b.op("GATHER_ND", [i, idx], [o])
    with pytest.raises(ConversionError, match="GATHER_ND.*scattered points"):
        tflite_to_blob(b.finish([i], [o]))
