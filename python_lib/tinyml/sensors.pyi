"""Type stubs for tinyml.sensors."""

from array import array
from typing import Any, Tuple

class MPU6050:
    WHO_AM_I: int
    PWR_MGMT_1: int
    SMPLRT_DIV: int
    CONFIG: int
    ACCEL_CONFIG: int
    FIFO_EN: int
    INT_STATUS: int
    ACCEL_XOUT_H: int
    USER_CTRL: int
    FIFO_COUNTH: int
    FIFO_R_W: int
    FIFO_SIZE: int
    i2c: Any
    addr: int
    rate: int
    range_g: int
    overflows: int
    def __init__(self, i2c: Any, addr: int = 0x68, rate: int = 100, range_g: int = 2) -> None: ...
    def read(self) -> Tuple[int, int, int]: ...
    def start_fifo(self) -> None: ...
    def read_fifo(self, buf: array) -> int: ...

class I2SMic:
    i2s: Any
    bits: int
    shift: int
    def __init__(self, i2s: Any, bits: int = 32, shift: int = 16, chunk: int = 256) -> None: ...
    def readinto(self, out: array) -> array: ...

class ADCSampler:
    adc: Any
    rate: int
    period_us: int
    center: bool
    late: int
    def __init__(self, adc: Any, rate: int, center: bool = True) -> None: ...
    def read(self, buf: array) -> array: ...
