"""Run a tinyml blob on the PC through the portable C core, via ctypes.

The core is the C that ships in the firmware (usermod_c/core_sources.txt),
compiled into this package when it was installed (tinyml_converter._core),
so what this module computes is what a board computes. The environment
variable TINYML_HOST_LIB points at another build of it instead: the
checkout's Makefile and tests use that to run the C as it is now, not as it
was when the package was installed.

    model = HostModel(open("model.tinyml", "rb").read())
    (y,) = model.invoke(x_int8)
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import subprocess
import threading
from pathlib import Path

import numpy as np

from . import blob_layout as bl
from .c_api import declare
from .errors import CoreUnavailable, ModelRefused

_lib = None
_lib_lock = threading.Lock()


def core_sources(c_dir: Path) -> list[Path]:
    """The portable core, from the same list the firmware builds use."""
    c_dir = Path(c_dir)
    names = (c_dir / "core_sources.txt").read_text().split()
    return [c_dir / n for n in names]


def build_host_library(c_dir, out, extra_sources=(), extra_flags=(), only=None) -> Path:
    """Compile the C core in `c_dir` (a tinyml checkout's usermod_c) into a
    shared library at `out`, if it is missing or older than a source; `only`
    names the files of core_sources.txt to build (default: all).

    For developers and tests working on the C; an installed package carries
    its own build. Undefined symbols are a link error (-z defs), so a missing
    kernel is reported here rather than as a crash at the first invoke."""
    c_dir, out = Path(c_dir), Path(out)
    sources = [p for p in core_sources(c_dir) if only is None or p.name in only] + [Path(s) for s in extra_sources]
    deps = sources + list(c_dir.glob("*.h")) + [c_dir / "core_sources.txt"]
    if out.exists() and all(p.stat().st_mtime <= out.stat().st_mtime for p in deps):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    cc = os.environ.get("CC", "cc")
    tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
    cmd = [cc, "-std=c99", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared",
           "-Wl,-z,defs", f"-I{c_dir}", *extra_flags, *map(str, sources), "-o", str(tmp)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise CoreUnavailable(f"building the host C core failed:\n{' '.join(cmd)}\n{res.stderr}")
    os.replace(tmp, out)  # atomic: parallel test processes never load a half-written file
    return out


def new_model(lib):
    """Zeroed memory for one tml_model_t (malloc'ed, so aligned for it)."""
    return ctypes.create_string_buffer(lib.tml_model_struct_size())


_DTYPES = {bl.DTYPE_INT8: np.dtype(np.int8), bl.DTYPE_INT16: np.dtype(np.int16),
           bl.DTYPE_INT32: np.dtype(np.int32), bl.DTYPE_FLOAT32: np.dtype(np.float32)}


def words(n: int):
    """n bytes (at least 8) of 8-byte aligned, zeroed memory."""
    return (ctypes.c_uint64 * max(1, (n + 7) // 8))()


def packaged_core() -> Path | None:
    spec = importlib.util.find_spec(f"{__package__}._core")
    return Path(spec.origin) if spec and spec.origin else None


def _refuse_stale(core: Path) -> None:
    """In a source checkout (an editable install), the compiled core is built
    once, by pip install; C sources edited since would be silently ignored,
    and blobs with their new opcodes refused as unknown. Name the newer file
    instead."""
    sources = Path(__file__).resolve().parents[2] / "usermod_c"
    if not sources.is_dir() or Path(__file__).resolve().parent not in core.resolve().parents:
        return
    built = core.stat().st_mtime
    newer = [f for f in sorted(sources.iterdir()) if f.suffix in (".c", ".h", ".S") and f.stat().st_mtime > built]
    if newer:
        raise CoreUnavailable(
            f"the compiled C core {core} is older than {newer[0]} ({len(newer)} source file(s) changed since "
            f"it was built): run `pip install -e converter` again, or set TINYML_HOST_LIB to the library "
            f"`make host-lib` builds (build/host/libtinyml_host.so)")


def load_library(path: str | os.PathLike | None = None):
    """The C core as a ctypes library: `path`, else TINYML_HOST_LIB, else the
    build installed with this package."""
    global _lib
    if path is not None:
        return declare(ctypes.CDLL(str(path)))
    with _lib_lock:
        if _lib is None:
            chosen = os.environ.get("TINYML_HOST_LIB")
            if not chosen:
                chosen = packaged_core()
                if chosen is None:
                    raise CoreUnavailable(
                        "this install of tinyml_converter has no compiled C core (tinyml_converter._core): "
                        "reinstall it from a wheel, or from source with a C compiler, or set "
                        "TINYML_HOST_LIB to a build of usermod_c/")
                _refuse_stale(chosen)
            try:
                _lib = declare(ctypes.CDLL(str(chosen)))
            except OSError as exc:
                raise CoreUnavailable(f"cannot load the C core {chosen}: {exc}") from None
        return _lib


class HostModel:
    """A tinyml blob loaded into the host build of the C core.

    Shapes are the tensors' original shapes (batch dimension included), as
    TFLite reports them, so outputs compare directly with TFLite's."""

    def __init__(self, blob: bytes, lib=None):
        self._lib = lib if lib is not None else load_library()
        blob = bytes(blob)
        # ctypes buffers come from malloc: 16-byte aligned, as the blob (4) needs.
        self._blob = ctypes.create_string_buffer(blob, len(blob))
        lib = self._lib
        self._m = new_model(lib)
        self._check(lib.tml_model_open(self._m, self._blob, len(blob)))
        state_size = lib.tml_model_state_size(self._m)
        self._state = words(state_size)
        self._check(lib.tml_model_load(self._m, self._state, state_size))
        header = bl.HEADER.unpack_from(blob, 0)
        self._header = dict(zip(bl.HEADER_FIELDS, header))
        self.arena_size = lib.tml_model_arena_size(self._m)
        self._arena = words(self.arena_size)
        self._check(lib.tml_model_set_arena(self._m, self._arena, ctypes.sizeof(self._arena)))
        self._inputs = [lib.tml_model_input_index(self._m, i) for i in range(self._header["input_count"])]
        self._outputs = [lib.tml_model_output_index(self._m, i) for i in range(self._header["output_count"])]
        self._tensors = []
        base = self._header["tensors_offset"]
        for i in range(self._header["tensor_count"]):
            fields = dict(zip(bl.TENSOR_FIELDS, bl.TENSOR.unpack_from(blob, base + i * bl.TENSOR.size)))
            dims = [fields[f"d{k}"] for k in range(bl.MAX_RANK)]
            fields["shape"] = tuple(dims[bl.MAX_RANK - fields["rank"]:])
            self._tensors.append(fields)

    def _check(self, status: int):
        if status != 0:
            e = self._lib.tml_model_error(self._m).contents
            raise ModelRefused(
                status,
                self._lib.tml_status_str(status).decode(),
                e.op_index,
                self._lib.tml_opcode_name(e.opcode).decode(),
                (e.detail or b"").decode(),
            )

    @property
    def input_shapes(self) -> list[tuple[int, ...]]:
        return [self._tensors[i]["shape"] for i in self._inputs]

    @property
    def output_shapes(self) -> list[tuple[int, ...]]:
        return [self._tensors[i]["shape"] for i in self._outputs]

    @property
    def input_quant(self) -> list[tuple[float, int]]:
        """(scale, zero_point) of each input."""
        return [(self._tensors[i]["scale"], self._tensors[i]["zero_point"]) for i in self._inputs]

    @property
    def output_quant(self) -> list[tuple[float, int]]:
        return [(self._tensors[i]["scale"], self._tensors[i]["zero_point"]) for i in self._outputs]

    def meta(self, type_: int) -> bytes | None:
        """The metadata record of the given type (blob_layout.META_*), or None."""
        length = ctypes.c_uint32(0)
        p = self._lib.tml_model_meta(self._m, type_, ctypes.byref(length))
        return None if not p else ctypes.string_at(p, length.value)

    @property
    def inputs_external(self) -> list[bool]:
        """Per input: read in place from the caller's buffer (not in the arena)."""
        return [bool(self._lib.tml_model_input_is_external(self._m, k)) for k in range(len(self._inputs))]

    def _tensor_view(self, index: int) -> np.ndarray:
        """The tensor's elements: int8, int16 (16x8 models), int32 (ARG_MAX /
        ARG_MIN indices) or float32 (the scikit-learn ops)."""
        n = self._lib.tml_model_tensor_bytes(self._m, index)
        p = self._lib.tml_model_tensor_data(self._m, index)
        if self._tensors[index]["dtype"] == bl.DTYPE_INT32:
            return np.ctypeslib.as_array((ctypes.c_int32 * (n // 4)).from_address(p))
        if self._tensors[index]["dtype"] == bl.DTYPE_FLOAT32:
            return np.ctypeslib.as_array((ctypes.c_float * (n // 4)).from_address(p))
        if self._tensors[index]["dtype"] == bl.DTYPE_INT16:
            return np.ctypeslib.as_array((ctypes.c_int16 * (n // 2)).from_address(p))
        return np.ctypeslib.as_array((ctypes.c_int8 * n).from_address(p))

    def reset(self):
        """State tensors (an LSTM's) back to their start, as TFLite's reset_all_variables()."""
        self._check(self._lib.tml_model_reset_state(self._m))

    def invoke(self, *inputs) -> list[np.ndarray]:
        """Run the model on int8 inputs (int16 for a 16x8 model, float32 for a
        scikit-learn model; any shape with the right element count); returns a
        list of arrays, one per output, in the outputs' shapes: int8 or int16,
        int32 for the indices of ARG_MAX / ARG_MIN, float32 for a scikit-learn
        model."""
        if len(inputs) != len(self._inputs):
            raise ValueError(f"model takes {len(self._inputs)} input(s), got {len(inputs)}")
        bound = []  # an external input is read in place: kept alive until invoke returns
        for k, (x, index) in enumerate(zip(inputs, self._inputs)):
            x = np.asarray(x)
            dtype = _DTYPES[self._tensors[index]["dtype"]]
            size = self._lib.tml_model_tensor_bytes(self._m, index) // dtype.itemsize
            if x.dtype != dtype:
                raise ValueError(f"input {k}: expected {dtype}, got {x.dtype}")
            if x.size != size:
                raise ValueError(f"input {k}: expected {size} elements "
                                 f"{self.input_shapes[k]}, got {x.size} {x.shape}")
            if self._lib.tml_model_input_is_external(self._m, k):
                buf = words(x.nbytes)
                ctypes.memmove(buf, np.ascontiguousarray(x).ctypes.data, x.nbytes)
                bound.append(buf)
                self._check(self._lib.tml_model_bind_input(self._m, k, buf, x.nbytes))
            else:
                self._tensor_view(index)[:] = x.reshape(-1)
        self._check(self._lib.tml_model_invoke(self._m))
        return [self._tensor_view(i).copy().reshape(self._tensors[i]["shape"]) for i in self._outputs]
