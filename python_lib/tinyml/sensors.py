"""Sensor readers built on `machine` objects you create for your board.

    from machine import I2C, Pin
    from tinyml.sensors import MPU6050
    imu = MPU6050(I2C(0, scl=Pin(1), sda=Pin(0)), rate=100)
    imu.start_fifo()
    buf = array('h', bytes(2 * 3 * 64))
    n = imu.read_fifo(buf)            # n (x, y, z) samples, raw int16, oldest first

Each class takes the bus/peripheral object rather than pin numbers, so the
same code runs on an RP2040, an ESP32 or (with fake objects) the unix port.
Buffers are allocated once; the read methods allocate nothing.
"""

from array import array


class MPU6050:
    """InvenSense MPU6050 (and MPU6500/9250 family) accelerometer on I2C.

    rate: output rate in Hz (1000 / (1 + divider), 4..1000); range_g: 2, 4,
    8 or 16. Raw readings are int16, range_g * 2 / 65536 g per count."""

    WHO_AM_I = 0x75
    PWR_MGMT_1 = 0x6B
    SMPLRT_DIV = 0x19
    CONFIG = 0x1A
    ACCEL_CONFIG = 0x1C
    FIFO_EN = 0x23
    INT_STATUS = 0x3A
    ACCEL_XOUT_H = 0x3B
    USER_CTRL = 0x6A
    FIFO_COUNTH = 0x72
    FIFO_R_W = 0x74
    FIFO_SIZE = 1024
    _IDS = (0x68, 0x70, 0x71, 0x73)

    def __init__(self, i2c, addr=0x68, rate=100, range_g=2):
        self.i2c = i2c
        self.addr = addr
        self._one = bytearray(1)
        self._six = bytearray(6)
        self._fifo = bytearray(self.FIFO_SIZE)
        self.overflows = 0
        try:
            who = self._read_reg(self.WHO_AM_I)
        except OSError:
            who = None
        if who not in self._IDS:
            raise OSError("MPU6050: no sensor answers at I2C address 0x%02x (WHO_AM_I %s): check SDA/SCL "
                          "wiring and power; with AD0 high the address is 0x69 (i2c.scan() lists devices)"
                          % (addr, "no reply" if who is None else "0x%02x" % who))
        if range_g not in (2, 4, 8, 16):
            raise ValueError("MPU6050: range_g is 2, 4, 8 or 16, got %r" % (range_g,))
        if not 4 <= rate <= 1000:
            raise ValueError("MPU6050: rate is 4..1000 Hz, got %r" % (rate,))
        self.range_g = range_g
        self.rate = 1000 // (1000 // rate)
        self._write_reg(self.PWR_MGMT_1, 0x01)              # awake, gyro-X PLL clock
        self._write_reg(self.CONFIG, 0x03)                  # 44 Hz low-pass, 1 kHz internal rate
        self._write_reg(self.SMPLRT_DIV, 1000 // rate - 1)
        self._write_reg(self.ACCEL_CONFIG, {2: 0, 4: 1, 8: 2, 16: 3}[range_g] << 3)

    def _read_reg(self, reg):
        self.i2c.readfrom_mem_into(self.addr, reg, self._one)
        return self._one[0]

    def _write_reg(self, reg, value):
        self._one[0] = value
        self.i2c.writeto_mem(self.addr, reg, self._one)

    @staticmethod
    def _be16(b, i):
        v = (b[i] << 8) | b[i + 1]
        return v - 65536 if v & 0x8000 else v

    def read(self):
        """One (x, y, z) reading now, raw int16."""
        b = self._six
        self.i2c.readfrom_mem_into(self.addr, self.ACCEL_XOUT_H, b)
        return (self._be16(b, 0), self._be16(b, 2), self._be16(b, 4))

    def start_fifo(self):
        """Empty the FIFO and start queueing accelerometer samples at `rate`."""
        self._write_reg(self.USER_CTRL, 0x04)               # FIFO reset
        self._write_reg(self.FIFO_EN, 0x08)                 # accelerometer into the FIFO
        self._write_reg(self.USER_CTRL, 0x40)               # FIFO on

    def read_fifo(self, buf):
        """Move the queued samples into buf (array('h'), 3 values per sample)
        with one burst read; returns how many samples were read (at most
        len(buf) // 3). A full FIFO loses samples: then `overflows` counts
        up and the FIFO restarts, so call this at least every
        1024 / 6 / rate seconds."""
        if self._read_reg(self.INT_STATUS) & 0x10:
            self.overflows += 1
            self.start_fifo()
            return 0
        b = self._six
        self.i2c.readfrom_mem_into(self.addr, self.FIFO_COUNTH, memoryview(b)[:2])
        available = ((b[0] << 8) | b[1]) // 6
        n = min(available, len(buf) // 3)
        if n == 0:
            return 0
        raw = self._fifo
        self.i2c.readfrom_mem_into(self.addr, self.FIFO_R_W, memoryview(raw)[:6 * n])
        for i in range(3 * n):
            v = (raw[2 * i] << 8) | raw[2 * i + 1]
            buf[i] = v - 65536 if v & 0x8000 else v
        return n


class I2SMic:
    """A mono I2S MEMS microphone (INMP441, SPH0645, ICS-43434...) through
    machine.I2S in receive mode, as ESP32 and RP2040 MicroPython provide:

        from machine import I2S, Pin
        i2s = I2S(0, sck=Pin(16), ws=Pin(17), sd=Pin(18), mode=I2S.RX,
                  bits=32, format=I2S.MONO, rate=16000, ibuf=8000)
        mic = I2SMic(i2s, bits=32)

    These microphones send 24-bit samples in 32-bit slots; readinto() keeps
    the top 16 bits (shift=16; a smaller shift adds gain, saturating)."""

    def __init__(self, i2s, bits=32, shift=16, chunk=256):
        if bits not in (16, 32):
            raise ValueError("I2SMic: bits is 16 or 32 (as given to machine.I2S), got %r" % (bits,))
        self.i2s = i2s
        self.bits = bits
        self.shift = shift
        self._raw = array("i", bytes(4 * chunk)) if bits == 32 else None

    def readinto(self, out):
        """Fill out (array('h')) with the next len(out) samples; returns out."""
        if self.bits == 16:
            _read_exactly(self.i2s, out, 2 * len(out))
            return out
        raw = self._raw
        shift = self.shift
        done = 0
        total = len(out)
        chunk = len(raw)
        while done < total:
            n = min(chunk, total - done)
            view = memoryview(raw)[:n] if n < chunk else raw
            _read_exactly(self.i2s, view, 4 * n)
            for i in range(n):
                v = raw[i] >> shift
                out[done + i] = 32767 if v > 32767 else (-32768 if v < -32768 else v)
            done += n
        return out


def _read_exactly(dev, buf, nbytes):
    # A blocking machine.I2S fills the whole buffer; a short read means an
    # irq/non-blocking setup this helper does not handle.
    got = dev.readinto(buf)
    if got is not None and got < nbytes:
        raise OSError("I2SMic: read %d of %d bytes: use a blocking machine.I2S (no irq) "
                      "or a larger ibuf" % (got, nbytes))


class ADCSampler:
    """Samples an ADC at a fixed rate with the microsecond clock:

        from machine import ADC
        s = ADCSampler(ADC(26), rate=1000)
        s.read(buf)          # fills buf (array('h')) at 1 kHz

    Values are read_u16() - 32768 (centred int16) unless center=False, then
    read_u16() >> 1. Timing is paced against a deadline, so jitter does not
    accumulate; `late` counts samples taken after their deadline."""

    def __init__(self, adc, rate, center=True):
        if not 0 < rate <= 100000:
            raise ValueError("ADCSampler: rate is 1..100000 Hz, got %r" % (rate,))
        self.adc = adc
        self.rate = rate
        self.period_us = 1000000 // rate
        self.center = center
        self.late = 0

    def read(self, buf):
        """Fill buf with len(buf) samples, one every 1/rate s; returns buf."""
        import time

        adc = self.adc
        period = self.period_us
        deadline = time.ticks_us()
        for i in range(len(buf)):
            wait = time.ticks_diff(deadline, time.ticks_us())
            if wait > 0:
                time.sleep_us(wait)
            elif wait < -period:
                self.late += 1
            v = adc.read_u16()
            buf[i] = v - 32768 if self.center else v >> 1
            deadline = time.ticks_add(deadline, period)
        return buf
