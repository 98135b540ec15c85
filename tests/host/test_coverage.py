"""docs/ops.md against the code it describes: the converter's dispatch, its
table of lowerings (coverage.ROWS), the C op table and the opcode lists."""

import re
from pathlib import Path

from tinyml_converter import blob_layout, coverage

REPO = Path(__file__).resolve().parents[2]
C_DIR = REPO / "usermod_c"


def test_docs_table_is_generated_from_the_code():
    doc = (REPO / "docs" / "ops.md").read_text()
    assert doc == coverage.table(C_DIR), \
        "docs/ops.md is stale: python -m tinyml_converter.coverage > docs/ops.md"


def test_rows_are_what_the_converter_accepts():
    accepted = coverage.dispatched_ops() | coverage.OUTSIDE_DISPATCH
    assert set(coverage.ROWS) - accepted == set(), "rows for ops the converter refuses"
    assert accepted - set(coverage.ROWS) == set(), "ops the converter accepts with no row"


def test_rows_name_ops_of_the_c_op_table():
    kernels = coverage.kernels(C_DIR)
    used = {o for row in coverage.ROWS.values() for o in row.runs_as} | set(coverage.sklearn_rows().values())
    assert used - set(kernels) == set(), "rows running as ops the C op table lacks"
    assert set(kernels) - used == coverage.SCHEDULE_OPS, "C ops no TFLite op or scikit-learn estimator lowers to"


def test_c_op_table_covers_every_opcode():
    enum = dict(re.findall(r"TML_OP_(\w+) = (\d+),", (C_DIR / "tml_blob.h").read_text()))
    assert {k: int(v) for k, v in enum.items()} == blob_layout.OPCODES
    assert set(coverage.kernels(C_DIR)) == set(blob_layout.OPCODES)


def test_kernel_paths_follow_the_code():
    kernels = coverage.kernels(C_DIR)
    # The convolutions have per-arch inner loops; the byte movers are portable.
    assert kernels["CONV_2D"].arch_paths and kernels["CONV_2D"].files == ("tml_conv.c",)
    assert not kernels["REMAP"].arch_paths
    # Per op, not per file: in tml_pool.c only MAX_POOL_2D has a DSP loop
    # (tml_max_into), in tml_elementwise.c only ADD a Cortex-M0 one (its
    # row function is reached as a pointer, not a call).
    assert kernels["MAX_POOL_2D"].arch_paths and not kernels["AVERAGE_POOL_2D"].arch_paths
    assert kernels["ADD"].arch_paths and not kernels["MAXIMUM"].arch_paths and not kernels["MUL"].arch_paths
    # A kernel behind a macro-prefixed definition (TML_OUT_OF_LINE tml_dw_groups4).
    assert kernels["DEPTHWISE_CONV_2D"].arch_paths
    assert kernels["CONV_2D"].scratch and not kernels["MAX_POOL_2D"].scratch


def test_lowered_pairs_outside_the_table_are_reported():
    assert coverage.unlisted({("CONV_2D", "CONV_2D"), ("TRANSPOSE", "REMAP")}) == []
    assert coverage.unlisted({("CONV_2D", "REMAP"), ("FOO", "ADD")}) == [("CONV_2D", "REMAP"), ("FOO", "ADD")]
