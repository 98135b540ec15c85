"""tml_blob.h (the C source of truth) and blob_layout.py (the Python writer)
must describe the same bytes: a C probe prints sizeof/offsetof of every struct
and the value of every constant, and we compare with the Python structs."""

import ctypes
import re
import shutil
import struct
import subprocess

import pytest
from conftest import BUILD, C_DIR

from tinyml_converter import blob_layout as bl
from tinyml_converter import boards, c_api
from tinyml_converter import host_runtime

C_STRUCTS = {
    "HEADER": "tml_blob_header_t",
    "TENSOR": "tml_blob_tensor_t",
    "OP_HEADER": "tml_blob_op_t",
    "META_HEADER": "tml_meta_t",
    "CONV_2D": "tml_blob_conv_t",
    "DEPTHWISE_CONV_2D": "tml_blob_conv_t",
    "FULLY_CONNECTED": "tml_blob_fc_t",
    "FULLY_CONNECTED_W16": "tml_blob_fc_t",
    "FULLY_CONNECTED_PAIRS": "tml_blob_fc_t",
    "AVERAGE_POOL_2D": "tml_blob_pool_t",
    "MAX_POOL_2D": "tml_blob_pool_t",
    "MEAN": "tml_blob_mean_t",
    "ADD": "tml_blob_add_t",
    "MUL": "tml_blob_mul_t",
    "CONCATENATION": "tml_blob_concat_t",
    "PAD": "tml_blob_pad_t",
    "SOFTMAX": "tml_blob_softmax_t",
    "LUT": "tml_blob_lut_t",
    "LUT_S16": "tml_blob_lut_t",
    "ABS_S16": "tml_blob_requantize_t",
    "SUM_S16": "tml_blob_sum_s16_t",
    "STAGE": "tml_blob_stage_t",
    "REMAP": "tml_blob_remap_t",
    "TRANSPOSE_CONV": "tml_blob_transpose_conv_t",
    **{name: "tml_blob_reduce_t" for name in ("REDUCE_MAX", "REDUCE_MIN", "SUM", "ARG_MAX", "ARG_MIN",
                                              "REDUCE_MAX_S16", "REDUCE_MIN_S16")},
    "SQUARED_DIFFERENCE": "tml_blob_squared_difference_t",
    "PRELU": "tml_blob_prelu_t",
    "LOG_SOFTMAX": "tml_blob_log_softmax_t",
    "RESIZE_BILINEAR": "tml_blob_resize_bilinear_t",
    "BATCH_MATMUL": "tml_blob_batch_matmul_t",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "tml_blob_lstm_t",
    "SVDF": "tml_blob_svdf_t",
    "CONV_2D_S16": "tml_blob_conv_t",
    "DEPTHWISE_CONV_2D_S16": "tml_blob_conv_t",
    "FULLY_CONNECTED_S16": "tml_blob_fc_s16_t",
    "REQUANTIZE": "tml_blob_requantize_t",
    "LOGISTIC_S16": "tml_blob_s16_prescale_t",
    "TANH_S16": "tml_blob_s16_prescale_t",
    "SOFTMAX_S16": "tml_blob_softmax_s16_t",
    "TRANSPOSE_CONV_S16": "tml_blob_transpose_conv_t",
    "BATCH_MATMUL_S16": "tml_blob_batch_matmul_t",
    "DIV": "tml_blob_div_t",
    "COMPARE": "tml_blob_compare_t",
    "LOGICAL": "tml_blob_logical_t",
    "ADD_S16": "tml_blob_add_s16_t",
    "SUB_S16": "tml_blob_add_s16_t",
    "MUL_S16": "tml_blob_mul_t",
    "AVERAGE_POOL_2D_S16": "tml_blob_pool_t",
    "MAX_POOL_2D_S16": "tml_blob_pool_t",
    "MEAN_S16": "tml_blob_mean_s16_t",
    "TREE_ENSEMBLE": "tml_blob_tree_ensemble_t",
    "LINEAR": "tml_blob_linear_t",
    "GAUSSIAN_NB": "tml_blob_gaussian_nb_t",
    "KNN": "tml_blob_knn_t",
    "SVM_RBF": "tml_blob_svm_rbf_t",
    "TREE_NODE16": "tml_tree_node16_t",
    "TREE_NODE32": "tml_tree_node32_t",
}
META_FIELDS = "type length".split()
TREE_NODE_FIELDS = "threshold feature right".split()
OPCODE_ENUM = {name: f"TML_OP_{name}" for name in bl.OPCODES}
CONSTANTS = {
    "TML_BLOB_MAGIC": bl.MAGIC,
    "TML_BLOB_VERSION": bl.VERSION,
    "TML_NONE": bl.NONE,
    "TML_MAX_RANK": bl.MAX_RANK,
    "TML_TENSOR_CONST": bl.TENSOR_CONST,
    "TML_TENSOR_EXTERNAL": bl.TENSOR_EXTERNAL,
    "TML_TENSOR_BAND": bl.TENSOR_BAND,
    "TML_STAGE_MAX_MEMBERS": bl.STAGE_MAX_MEMBERS,
    "TML_DTYPE_INT8": bl.DTYPE_INT8,
    "TML_DTYPE_INT16": bl.DTYPE_INT16,
    "TML_DTYPE_INT32": bl.DTYPE_INT32,
    "TML_DTYPE_FLOAT32": bl.DTYPE_FLOAT32,
    "TML_CLASSIC_POST_NONE": bl.POST_NONE,
    "TML_CLASSIC_POST_AVERAGE": bl.POST_AVERAGE,
    "TML_CLASSIC_POST_LOGISTIC": bl.POST_LOGISTIC,
    "TML_CLASSIC_POST_SOFTMAX": bl.POST_SOFTMAX,
    "TML_CLASSIC_POST_ISOLATION": bl.POST_ISOLATION,
    "TML_CLASSIC_POST_SIGN2": bl.POST_SIGN2,
    "TML_KNN_MAX_K": bl.KNN_MAX_K,
    "TML_SVM_MAX_CLASSES": bl.SVM_MAX_CLASSES,
    "TML_TREE_WIDE": bl.TREE_WIDE,
    "TML_TREE_F64": bl.TREE_F64,
    "TML_TREE_LEAF16": bl.TREE_LEAF16,
    "TML_TREE_NAN_LEFT16": bl.TREE_NAN_LEFT16,
    "TML_TREE_LEAF32": bl.TREE_LEAF32,
    "TML_TREE_NAN_LEFT32": bl.TREE_NAN_LEFT32,
    "TML_META_NAME": bl.META_NAME,
    "TML_META_LABELS": bl.META_LABELS,
    "TML_META_NORMALIZE": bl.META_NORMALIZE,
    "TML_META_CONVERTER": bl.META_CONVERTER,
    "TML_META_SOURCE_SHA256": bl.META_SOURCE_SHA256,
    "TML_META_EMBEDDING": bl.META_EMBEDDING,
    **{enum: bl.OPCODES[name] for name, enum in OPCODE_ENUM.items()},
}


def c_member(py_field):
    """Python field names flatten C arrays: d2 -> dims[2], before1 -> before[1]."""
    m = re.fullmatch(r"d(\d)", py_field)
    if m:
        return f"dims[{m.group(1)}]"
    m = re.fullmatch(r"(before|after)(\d)", py_field)
    if m:
        return f"{m.group(1)}[{m.group(2)}]"
    return py_field


def py_offsets(st: struct.Struct):
    """Byte offset of each field of a '<' (unpadded) struct format."""
    offsets, pos = [], 0
    for count, code in re.findall(r"(\d*)([a-zA-Z?])", st.format.lstrip("<")):
        for _ in range(int(count or 1)):
            offsets.append(pos)
            pos += struct.calcsize("<" + code)
    assert pos == st.size
    return offsets


def layouts():
    """(key, C struct, struct.Struct, [field names])."""
    out = [
        ("HEADER", C_STRUCTS["HEADER"], bl.HEADER, bl.HEADER_FIELDS),
        ("TENSOR", C_STRUCTS["TENSOR"], bl.TENSOR, bl.TENSOR_FIELDS),
        ("OP_HEADER", C_STRUCTS["OP_HEADER"], bl.OP_HEADER, bl.OP_HEADER_FIELDS),
        ("META_HEADER", C_STRUCTS["META_HEADER"], bl.META_HEADER, META_FIELDS),
        ("TREE_NODE16", C_STRUCTS["TREE_NODE16"], bl.TREE_NODE16, TREE_NODE_FIELDS),
        ("TREE_NODE32", C_STRUCTS["TREE_NODE32"], bl.TREE_NODE32, TREE_NODE_FIELDS),
    ]
    for name, (st, fields) in bl.PARAMS.items():
        if not fields:
            continue
        out.append((name, C_STRUCTS[name], st, fields))
    return out


def probe_source(static_asserts: bool) -> str:
    lines = ['#include <stddef.h>', '#include <stdio.h>', '#include "tml_blob.h"',
             '#include "tml_ops.h"', "int main(void) {"]
    asserts = []
    for key, cname, st, fields in layouts():
        lines.append(f'    printf("size {key} %u\\n", (unsigned)sizeof({cname}));')
        asserts.append(f"_Static_assert(sizeof({cname}) == {st.size}, \"{key}\");")
        for f, off in zip(fields, py_offsets(st)):
            lines.append(f'    printf("offset {key}.{f} %u\\n", (unsigned)offsetof({cname}, {c_member(f)}));')
            asserts.append(f"_Static_assert(offsetof({cname}, {c_member(f)}) == {off}, \"{key}.{f}\");")
    for cname in CONSTANTS:
        lines.append(f'    printf("const {cname} %lu\\n", (unsigned long)({cname}));')
        asserts.append(f"_Static_assert({cname} == {CONSTANTS[cname]}u, \"{cname}\");")
    lines.append('    printf("size tml_error_t %u\\n", (unsigned)sizeof(tml_error_t));')
    lines.append('    printf("size tml_tensor_t %u\\n", (unsigned)sizeof(tml_tensor_t));')
    lines.append('    printf("size tml_op_t %u\\n", (unsigned)sizeof(tml_op_t));')
    lines.append('    printf("offset tml_error_t.detail %u\\n", (unsigned)offsetof(tml_error_t, detail));')
    lines += ["    return 0;", "}"]
    src = "\n".join(lines) + "\n"
    if static_asserts:
        src = '#include <stddef.h>\n#include "tml_blob.h"\n' + "\n".join(asserts) + "\n"
    return src


@pytest.fixture(scope="module")
def probe_output():
    BUILD.mkdir(parents=True, exist_ok=True)
    src = BUILD / "layout_probe.c"
    exe = BUILD / "layout_probe"
    src.write_text(probe_source(static_asserts=False))
    subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", f"-I{C_DIR}", str(src), "-o", str(exe)],
                   check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return dict(line.rsplit(" ", 1) for line in out.splitlines())


@pytest.mark.parametrize("key,cname,st,fields", layouts(), ids=[x[0] for x in layouts()])
def test_struct_matches(probe_output, key, cname, st, fields):
    assert len(fields) == len(py_offsets(st)), f"{key}: field names and format disagree"
    assert int(probe_output[f"size {key}"]) == st.size, f"sizeof({cname})"
    for f, off in zip(fields, py_offsets(st)):
        assert int(probe_output[f"offset {key}.{f}"]) == off, f"offsetof({cname}, {c_member(f)})"


def test_constants_match(probe_output):
    for cname, value in CONSTANTS.items():
        assert int(probe_output[f"const {cname}"]) == value, cname


def test_every_opcode_has_params():
    assert set(bl.PARAMS) == set(bl.OPCODES)
    assert bl.PARAMS["COPY"][0].size == 0


def test_host_runtime_error_struct_mirror(probe_output):
    """host_runtime reads tml_model_error() through a ctypes mirror of tml_error_t."""
    assert ctypes.sizeof(c_api.Error) == int(probe_output["size tml_error_t"])
    assert c_api.Error.detail.offset == int(probe_output["offset tml_error_t.detail"])


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed")
def test_layout_same_on_cortex_m0():
    """The blob is read in place on the board: the same offsets must hold there."""
    BUILD.mkdir(parents=True, exist_ok=True)
    src = BUILD / "layout_asserts.c"
    src.write_text(probe_source(static_asserts=True))
    subprocess.run(["arm-none-eabi-gcc", "-std=c11", "-mcpu=cortex-m0", "-mthumb", "-Os", "-c",
                    f"-I{C_DIR}", str(src), "-o", str(BUILD / "layout_asserts.o")], check=True)


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed")
def test_state_sizes_on_cortex_m0():
    """`tinyml check` counts the model state with the sizes the boards' build has."""
    BUILD.mkdir(parents=True, exist_ok=True)
    src = BUILD / "state_asserts.c"
    src.write_text('#include "tml_ops.h"\n'
                   f'_Static_assert(sizeof(tml_tensor_t) == {boards.STATE_TENSOR_BYTES}, "tensor");\n'
                   f'_Static_assert(sizeof(tml_op_t) == {boards.STATE_OP_BYTES}, "op");\n')
    subprocess.run(["arm-none-eabi-gcc", "-std=c11", "-mcpu=cortex-m0", "-mthumb", "-Os", "-c",
                    f"-I{C_DIR}", str(src), "-o", str(BUILD / "state_asserts.o")], check=True)


def test_state_size_formula_matches_the_loader(probe_output):
    """boards.state_bytes() with the host build's struct sizes gives exactly
    what tml_model_state_size() asks for."""
    blob = (C_DIR.parent / "tests" / "fuzz" / "regressions" / "maxpool_overlapping_tensors.bin").read_bytes()
    from tinyml_converter.blob import read_blob

    info = read_blob(blob)
    lib = host_runtime.load_library()
    m = host_runtime.new_model(lib)
    buf = ctypes.create_string_buffer(blob, len(blob))
    assert lib.tml_model_open(m, buf, len(blob)) == 0
    operands = sum(len(op["inputs"]) + len(op["outputs"]) for op in info.ops) + len(info.inputs) + len(info.outputs)
    assert boards.state_bytes(len(info.tensors), len(info.ops), operands,
                              int(probe_output["size tml_tensor_t"]),
                              int(probe_output["size tml_op_t"])) == lib.tml_model_state_size(m)
