# tinyml.sensors against fake machine objects that behave like the real
# ones: an MPU6050 register file with a FIFO on a fake I2C bus, a 32-bit
# I2S microphone, an ADC. Expected values are worked out by hand below.
from array import array

from tinyml.sensors import MPU6050, I2SMic, ADCSampler


class FakeMPU6050:
    """machine.I2C's memory API over an MPU6050's registers. The FIFO
    register (0x74) hands out queued bytes in order on a burst read, as the
    chip does; FIFO_COUNT reflects what is queued."""

    def __init__(self, addr=0x68):
        self.addr = addr
        self.regs = bytearray(128)
        self.regs[0x75] = 0x68
        self.fifo = bytearray()
        self.burst_reads = 0

    def queue(self, x, y, z):
        for v in (x, y, z):
            v &= 0xFFFF
            self.fifo += bytes((v >> 8, v & 0xFF))

    def _check(self, addr):
        if addr != self.addr:
            raise OSError(19)   # ENODEV, as a real bus reports a missing device

    def writeto_mem(self, addr, reg, buf):
        self._check(addr)
        for i, b in enumerate(buf):
            self.regs[reg + i] = b
        if reg == 0x6A and buf[0] & 0x04:
            self.fifo = bytearray()

    def readfrom_mem_into(self, addr, reg, buf):
        self._check(addr)
        if reg == 0x74:
            self.burst_reads += 1
            n = len(buf)
            for i in range(n):
                buf[i] = self.fifo[i]
            self.fifo = self.fifo[n:]
            return
        if reg == 0x72:
            self.regs[0x72] = len(self.fifo) >> 8
            self.regs[0x73] = len(self.fifo) & 0xFF
        for i in range(len(buf)):
            buf[i] = self.regs[reg + i]


bus = FakeMPU6050()
imu = MPU6050(bus, rate=100, range_g=4)
print("config", bus.regs[0x6B], bus.regs[0x19], bus.regs[0x1C], imu.rate)
bus.regs[0x3B:0x41] = bytes((0x12, 0x34, 0xFF, 0xFE, 0x80, 0x00))
print("read", imu.read())                   # 0x1234, -2, -32768
imu.start_fifo()
print("fifo on", bus.regs[0x6A], bus.regs[0x23])
for i in range(5):
    bus.queue(i, -i, 1000 * i)
buf = array("h", bytes(2 * 3 * 4))
n = imu.read_fifo(buf)
print("fifo", n, list(buf), bus.burst_reads, len(bus.fifo))
print("fifo rest", imu.read_fifo(buf), list(buf[:3]))
print("fifo empty", imu.read_fifo(buf))
bus.regs[0x3A] = 0x10
print("overflow", imu.read_fifo(buf), imu.overflows)
try:
    MPU6050(bus, addr=0x69)
except OSError as e:
    print("OSError", e)


class FakeI2S:
    """machine.I2S in RX mode, 32-bit mono slots: readinto fills the buffer."""

    def __init__(self, samples):
        self.samples = samples
        self.pos = 0

    def readinto(self, buf):
        mv = memoryview(buf)
        n = len(mv)
        for i in range(n):
            mv[i] = self.samples[(self.pos + i) % len(self.samples)]
        self.pos += n
        return n * 4


# 24-bit samples left-justified in 32 bits: the top 16 bits are the sample.
mic = I2SMic(FakeI2S([0x12340000, -0x00010000, 0x7FFFFF00, -0x80000000, 0x00008000]), chunk=3)
out = array("h", bytes(2 * 7))
print("i2s", list(mic.readinto(out)))
loud = I2SMic(FakeI2S([0x00400000, -0x00400000, 0x40000000]), shift=8)
print("i2s gain", list(loud.readinto(array("h", bytes(6)))))


class FakeADC:
    def __init__(self):
        self.v = 0

    def read_u16(self):
        self.v = (self.v + 4096) & 0xFFFF
        return self.v


import time

s = ADCSampler(FakeADC(), rate=2000)
buf = array("h", bytes(2 * 20))
t0 = time.ticks_us()
s.read(buf)
dt = time.ticks_diff(time.ticks_us(), t0)
print("adc", list(buf[:5]), dt >= 19 * 500)   # 20 samples, 500 us apart
