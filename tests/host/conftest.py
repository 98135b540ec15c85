"""Shared fixtures for host tests: build the portable C core as a shared
library so pytest drives exactly the code that ships in the firmware."""

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
C_DIR = REPO / "usermod_c"
BUILD = REPO / "build" / "host"
sys.path.insert(0, str(REPO / "converter"))

# The tests drive the C as it is in this checkout, not the copy compiled into
# the installed package when it was installed.
if not os.environ.get("TINYML_HOST_LIB"):
    from tinyml_converter.host_runtime import build_host_library

    os.environ["TINYML_HOST_LIB"] = str(build_host_library(C_DIR, BUILD / "libtinyml_host.so"))


# ctypes mirrors of the kernel structs in usermod_c/tml_kernels.h, shared by
# the tests that call kernels directly.
class Dims(ctypes.Structure):
    _fields_ = [("n", ctypes.c_int32), ("h", ctypes.c_int32), ("w", ctypes.c_int32), ("c", ctypes.c_int32)]


class Requant(ctypes.Structure):
    _fields_ = [
        ("input_offset", ctypes.c_int32),
        ("output_offset", ctypes.c_int32),
        ("multiplier", ctypes.POINTER(ctypes.c_int32)),
        ("shift", ctypes.POINTER(ctypes.c_int32)),
        ("channel_quant", ctypes.c_uint16),
    ]


class ConvParams(ctypes.Structure):
    _fields_ = [(f, ctypes.c_uint16) for f in
                "kernel_h kernel_w stride_h stride_w dilation_h dilation_w".split()] + [
        ("pad_top", ctypes.c_int16), ("pad_left", ctypes.c_int16), ("depth_multiplier", ctypes.c_uint16),
        ("act_min", ctypes.c_int32), ("act_max", ctypes.c_int32),
    ]


class FcParams(ctypes.Structure):
    _fields_ = [("act_min", ctypes.c_int32), ("act_max", ctypes.c_int32)]


def kernel_params(kind, packed):
    """The kernel-native params struct of a conv or FC op, from its packed
    blob record (blob_layout.pack_params), as the loader translates it."""
    from tinyml_converter import blob_layout

    st, names = blob_layout.PARAMS[kind]
    fields = dict(zip(names, st.unpack(packed)))
    cls = FcParams if kind == "FULLY_CONNECTED" else ConvParams
    return cls(*(fields[name] for name, _ in cls._fields_))


def compile_c_library(sources, name, extra_flags=()):
    """Compile C sources (paths relative to usermod_c/) into build/host/<name>.so.

    Rebuilt when any source or header is newer than the library."""
    BUILD.mkdir(parents=True, exist_ok=True)
    out = BUILD / f"{name}.so"
    paths = [C_DIR / s for s in sources]
    deps = paths + list(C_DIR.glob("*.h"))
    if not out.exists() or any(p.stat().st_mtime > out.stat().st_mtime for p in deps):
        cc = os.environ.get("CC", "cc")
        cmd = [cc, "-std=c99", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared",
               f"-I{C_DIR}", *extra_flags, *map(str, paths), "-o", str(out)]
        subprocess.run(cmd, check=True)
    return ctypes.CDLL(str(out))


@pytest.fixture(scope="session")
def c_builder():
    return compile_c_library
