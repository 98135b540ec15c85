"""Byte layout of the tinyml blob, mirroring usermod_c/tml_blob.h.

tml_blob.h is the source of truth; tests/host/test_layout.py compiles a probe
against it and checks every size below. Each params struct is a
`struct` format (little-endian, no implicit padding) plus its field names.
"""

import struct

MAGIC = 0x424C4D54  # b"TMLB"
VERSION = 2
NONE = 0xFFFFFFFF
MAX_RANK = 4
CRC_START = 16  # CRC-32 covers bytes [16, total_size)
DATA_ALIGN = 8

HEADER = struct.Struct("<IHHIIIHHBBHIIIIIIIII")
HEADER_FIELDS = (
    "magic version header_size total_size crc32 arena_size tensor_count op_count "
    "input_count output_count flags tensors_offset io_offset ops_offset ops_size "
    "data_offset data_size meta_offset meta_size reserved"
).split()

TENSOR = struct.Struct("<I4ifiBBH")
TENSOR_FIELDS = "offset d0 d1 d2 d3 scale zero_point dtype rank flags".split()
TENSOR_CONST = 1
TENSOR_STATE = 2
TENSOR_RESET = 4
TENSOR_EXTERNAL = 8
TENSOR_BAND = 16

DTYPE_INT8, DTYPE_INT16, DTYPE_INT32, DTYPE_FLOAT32, DTYPE_BOOL = 1, 2, 3, 4, 5
DTYPE_SIZE = {DTYPE_INT8: 1, DTYPE_INT16: 2, DTYPE_INT32: 4, DTYPE_FLOAT32: 4, DTYPE_BOOL: 1}

OP_HEADER = struct.Struct("<BBBBHHII")
OP_HEADER_FIELDS = "opcode input_count output_count reserved size params_size scratch_offset scratch_size".split()

OPCODES = {
    "CONV_2D": 1,
    "DEPTHWISE_CONV_2D": 2,
    "FULLY_CONNECTED": 3,
    "AVERAGE_POOL_2D": 4,
    "MAX_POOL_2D": 5,
    "MEAN": 6,
    "ADD": 7,
    "MUL": 8,
    "CONCATENATION": 9,
    "PAD": 10,
    "SOFTMAX": 11,
    "LUT": 12,
    "COPY": 13,
    "REMAP": 14,
    "MAXIMUM": 15,
    "MINIMUM": 16,
    "TRANSPOSE_CONV": 17,
    "SQUARED_DIFFERENCE": 18,
    "PRELU": 19,
    "LOG_SOFTMAX": 20,
    "L2_NORMALIZATION": 21,
    "REDUCE_MAX": 22,
    "REDUCE_MIN": 23,
    "SUM": 24,
    "ARG_MAX": 25,
    "ARG_MIN": 26,
    "RESIZE_BILINEAR": 27,
    "BATCH_MATMUL": 28,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": 36,
    "SVDF": 37,
    "CONV_2D_S16": 38,
    "DEPTHWISE_CONV_2D_S16": 39,
    "FULLY_CONNECTED_S16": 40,
    "REQUANTIZE": 41,
    "LOGISTIC_S16": 42,
    "TANH_S16": 43,
    "SOFTMAX_S16": 44,
    "TRANSPOSE_CONV_S16": 45,
    "BATCH_MATMUL_S16": 46,
    "DIV": 47,
    "COMPARE": 48,
    "SELECT": 49,
    "LOGICAL": 50,
    "ADD_S16": 51,
    "SUB_S16": 52,
    "MUL_S16": 53,
    "AVERAGE_POOL_2D_S16": 54,
    "MAX_POOL_2D_S16": 55,
    "MEAN_S16": 56,
    "REDUCE_MAX_S16": 57,
    "REDUCE_MIN_S16": 58,
    "LUT_S16": 59,
    "ABS_S16": 60,
    "SUM_S16": 61,
    "STAGE": 62,
    "FULLY_CONNECTED_W16": 63,
    "FULLY_CONNECTED_PAIRS": 64,
    "TREE_ENSEMBLE": 29,
    "LINEAR": 30,
    "GAUSSIAN_NB": 31,
    "KNN": 32,
    "SVM_RBF": 33,
}
OPCODE_NAMES = {v: k for k, v in OPCODES.items()}

# opcode name -> (struct, field names), in the order of the C struct.
PARAMS = {
    "CONV_2D": (
        struct.Struct("<HHHHHHhhHHiiIIII"),
        "kernel_h kernel_w stride_h stride_w dilation_h dilation_w pad_top pad_left "
        "depth_multiplier channel_quant act_min act_max weights bias multiplier shift".split(),
    ),
    "FULLY_CONNECTED": (
        struct.Struct("<HHiiIIII"),
        "channel_quant reserved act_min act_max weights bias multiplier shift".split(),
    ),
    "AVERAGE_POOL_2D": (
        struct.Struct("<HHHHhhii"),
        "filter_h filter_w stride_h stride_w pad_top pad_left act_min act_max".split(),
    ),
    "MEAN": (struct.Struct("<IIii"), "axis_mask mode multiplier shift".split()),
    "ADD": (
        struct.Struct("<9i"),
        "left_shift input1_multiplier input1_shift input2_multiplier input2_shift "
        "output_multiplier output_shift act_min act_max".split(),
    ),
    "MUL": (struct.Struct("<4i"), "output_multiplier output_shift act_min act_max".split()),
    "CONCATENATION": (struct.Struct("<i"), ["axis"]),
    "PAD": (
        struct.Struct("<9i"),
        "before0 before1 before2 before3 after0 after1 after2 after3 pad_value".split(),
    ),
    "SOFTMAX": (struct.Struct("<3i"), "input_multiplier input_left_shift diff_min".split()),
    "LUT": (struct.Struct("<I"), ["table"]),
    "COPY": (struct.Struct("<"), []),
    "REMAP": (struct.Struct("<I"), ["table"]),
    "MAXIMUM": (struct.Struct("<"), []),
    "MINIMUM": (struct.Struct("<"), []),
    "TRANSPOSE_CONV": (
        struct.Struct("<HHHHhhHHiiIIII"),
        "kernel_h kernel_w stride_h stride_w pad_top pad_left channel_quant reserved "
        "act_min act_max weights bias multiplier shift".split(),
    ),
    "REDUCE_MAX": (struct.Struct("<iiiI"), "outer reduced inner table".split()),
    "SQUARED_DIFFERENCE": (
        struct.Struct("<7i"),
        "left_shift input1_multiplier input1_shift input2_multiplier input2_shift "
        "output_multiplier output_shift".split(),
    ),
    "PRELU": (struct.Struct("<4i"), "identity_multiplier identity_shift alpha_multiplier alpha_shift".split()),
    "LOG_SOFTMAX": (
        struct.Struct("<5i"),
        "input_multiplier input_left_shift reverse_multiplier reverse_shift diff_min".split(),
    ),
    "L2_NORMALIZATION": (struct.Struct("<"), []),
    "RESIZE_BILINEAR": (struct.Struct("<BBH"), "align_corners half_pixel_centers reserved".split()),
    "BATCH_MATMUL": (struct.Struct("<iiBBH"), "output_multiplier output_shift adj_x adj_y reserved".split()),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (
        struct.Struct("<IIihbbHH"),
        "constants constants_size hidden_zero_point cell_clip proj_clip cell_scale flags reserved".split(),
    ),
    "TREE_ENSEMBLE": (
        struct.Struct("<8IHHBBH"),
        "nodes node_count roots tree_count leaves leaf_values base post_params raw leaf_width flags post "
        "reserved".split(),
    ),
    "LINEAR": (struct.Struct("<IIHBB"), "weights bias raw post reserved".split()),
    "GAUSSIAN_NB": (struct.Struct("<IIIHH"), "theta var bias raw reserved".split()),
    "KNN": (struct.Struct("<IIIIHHBBH"), "points targets scale count k raw weights regression reserved".split()),
    "SVM_RBF": (struct.Struct("<7IHH"), "support coef intercept starts gamma scale count classes reserved".split()),
}
PARAMS["SVDF"] = (
    struct.Struct("<IIIiiiii"),
    "weights_feature weights_time bias rank feature_multiplier feature_shift time_multiplier time_shift".split(),
)
LSTM_TIME_MAJOR, LSTM_CIFG, LSTM_PEEPHOLE, LSTM_PROJECTION = 1, 2, 4, 8
PARAMS["DEPTHWISE_CONV_2D"] = PARAMS["CONV_2D"]
PARAMS["CONV_2D_S16"] = PARAMS["CONV_2D"]
PARAMS["DEPTHWISE_CONV_2D_S16"] = PARAMS["CONV_2D"]
PARAMS["TRANSPOSE_CONV_S16"] = PARAMS["TRANSPOSE_CONV"]
PARAMS["BATCH_MATMUL_S16"] = PARAMS["BATCH_MATMUL"]
PARAMS["DIV"] = (struct.Struct("<4i"), "output_multiplier output_shift act_min act_max".split())
PARAMS["COMPARE"] = (struct.Struct("<Ii4i"), "kind left_shift input1_multiplier input1_shift "
                     "input2_multiplier input2_shift".split())
PARAMS["SELECT"] = (struct.Struct("<"), [])
PARAMS["LOGICAL"] = (struct.Struct("<I"), ["kind"])
PARAMS["ADD_S16"] = (struct.Struct("<9i"), "pot input1_multiplier input1_shift input2_multiplier input2_shift "
                     "output_multiplier output_shift act_min act_max".split())
PARAMS["SUB_S16"] = PARAMS["ADD_S16"]
PARAMS["MUL_S16"] = PARAMS["MUL"]
PARAMS["AVERAGE_POOL_2D_S16"] = PARAMS["AVERAGE_POOL_2D"]
PARAMS["MAX_POOL_2D_S16"] = PARAMS["AVERAGE_POOL_2D"]
PARAMS["LUT_S16"] = PARAMS["LUT"]
PARAMS["MEAN_S16"] = (struct.Struct("<3i"), "multiplier shift axis_mask".split())
PARAMS["FULLY_CONNECTED_W16"] = PARAMS["FULLY_CONNECTED"]
PARAMS["FULLY_CONNECTED_PAIRS"] = PARAMS["FULLY_CONNECTED"]
PARAMS["FULLY_CONNECTED_S16"] = (
    struct.Struct("<HHiiIII"), "channel_quant reserved act_min act_max weights bias scale".split())
PARAMS["REQUANTIZE"] = (struct.Struct("<6i"),
                        "multiplier shift negative_multiplier negative_shift act_min act_max".split())
PARAMS["ABS_S16"] = PARAMS["REQUANTIZE"]
PARAMS["STAGE"] = (struct.Struct("<HH"), "member_count band_rows".split())
STAGE_MAX_MEMBERS = 32
PARAMS["SUM_S16"] = (struct.Struct("<5i"), "outer reduced inner scale_mantissa scale_exponent".split())
PARAMS["LOGISTIC_S16"] = (struct.Struct("<ii"), "input_multiplier input_left_shift".split())
PARAMS["TANH_S16"] = PARAMS["LOGISTIC_S16"]
PARAMS["SOFTMAX_S16"] = (struct.Struct("<iiII"),
                         "input_multiplier input_shift exp_lut one_over_one_plus_x_lut".split())
PARAMS["MAX_POOL_2D"] = PARAMS["AVERAGE_POOL_2D"]
for _name in ("REDUCE_MIN", "SUM", "ARG_MAX", "ARG_MIN", "REDUCE_MAX_S16", "REDUCE_MIN_S16"):
    PARAMS[_name] = PARAMS["REDUCE_MAX"]

# TREE_ENSEMBLE / LINEAR post-processing (tml_classic_post_t) and node records.
POST_NONE, POST_AVERAGE, POST_LOGISTIC, POST_SOFTMAX, POST_ISOLATION, POST_SIGN2 = range(6)
TREE_WIDE, TREE_F64 = 1, 2
KNN_MAX_K = 256
SVM_MAX_CLASSES = 64
TREE_NODE16 = struct.Struct("<iHH")
TREE_NODE32 = struct.Struct("<iII")
TREE_LEAF16, TREE_NAN_LEFT16 = 0xFFFF, 0x8000
TREE_LEAF32, TREE_NAN_LEFT32 = 0xFFFFFFFF, 0x80000000

META_HEADER = struct.Struct("<HH")
META_NAME, META_LABELS, META_NORMALIZE, META_CONVERTER, META_SOURCE_SHA256 = 1, 2, 3, 4, 5
META_EMBEDDING = 8


def pack_params(opname: str, **fields) -> bytes:
    """Pack an op's params struct; every field must be given (no silent defaults)."""
    st, names = PARAMS[opname]
    missing = [n for n in names if n not in fields]
    extra = [n for n in fields if n not in names]
    if missing or extra:
        raise ValueError(f"{opname} params: missing {missing}, unexpected {extra}")
    return st.pack(*(fields[n] for n in names))
