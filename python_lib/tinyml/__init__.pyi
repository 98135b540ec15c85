"""Type stubs for the `tinyml` package (python_lib/tinyml/__init__.py)."""

from array import array
from typing import Dict, List, Optional, Sequence, Tuple, Union

from _tinyml import FORMAT_VERSION as FORMAT_VERSION
from _tinyml import build_info as build_info
from _tinyml import dequantize as dequantize
from _tinyml import quantize as quantize

__version__: str

_Buffer = Union[bytes, bytearray, memoryview, array]

class Model:
    """A loaded model. Create it with tinyml.load()."""
    input_shape: Tuple[int, ...]
    output_shape: Tuple[int, ...]
    input_shapes: Tuple[Tuple[int, ...], ...]
    output_shapes: Tuple[Tuple[int, ...], ...]
    arena_size: int
    in_place: bool
    name: Optional[str]
    labels: Optional[Tuple[str, ...]]
    def __init__(self, buf: _Buffer, copied: bool = False) -> None: ...
    @property
    def input_scale(self) -> float: ...
    @property
    def input_zero_point(self) -> int: ...
    @property
    def output_scale(self) -> float: ...
    @property
    def output_zero_point(self) -> int: ...
    @property
    def normalize(self) -> Optional[Tuple[Tuple[float, ...], Tuple[float, ...]]]: ...
    def predict(self, x: Sequence[float]) -> array:
        """Dequantised floats out; a scikit-learn model (float32 in and out,
        no quantisation) returns class scores in `labels` order, a regression
        value, or an outlier score (negative: outlier)."""
        ...
    def invoke(self, inp: _Buffer, out: Optional[bytearray] = None) -> bytearray: ...
    def ops(self) -> List[Tuple[str, Tuple[int, ...], int]]: ...
    def summary(self) -> None: ...
    def profile(self, x: Sequence[float], runs: int = 1) -> Dict[str, int]: ...
    def close(self) -> None: ...

def load(src: Union[str, _Buffer]) -> Model: ...
def info() -> dict: ...
