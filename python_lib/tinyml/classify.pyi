"""Type stubs for tinyml.classify."""

from typing import Any, List, Optional, Sequence, Tuple

def argmax(scores: Sequence[float]) -> int: ...
def top_k(scores: Sequence[float], k: int = 3, labels: Optional[Sequence[str]] = None) -> List[Tuple[Any, float]]: ...

class Smooth:
    n: int
    out: Optional[List[float]]
    def __init__(self, n: int = 3) -> None: ...
    def update(self, scores: Sequence[float]) -> List[float]: ...

class Debounce:
    threshold: float
    count: int
    release: int
    ignore: Optional[int]
    def __init__(self, threshold: float = 0.6, count: int = 3, release: int = 2, ignore: Optional[int] = None) -> None: ...
    def update(self, scores: Sequence[float]) -> Optional[int]: ...
