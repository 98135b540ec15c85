# Synthetic machine vibration, one accelerometer axis at 1 kHz: a healthy
# machine hums at 50 Hz with harmonics; a worn bearing adds a 230 Hz whine
# and rattle. Plain Python (math only), shared by the PC and the board.
import math

RATE = 1000
FFT = 64
BINS = FFT // 2 + 1


class Noise:
    def __init__(self, seed=1):
        self.x = seed

    def __call__(self):
        self.x = (self.x * 75 + 74) % 65537
        return self.x / 32768 - 1


def window(out, noise, start, faulty=False):
    """Fill out (FFT int16 raw readings) with one window of vibration."""
    for i in range(FFT):
        t = i / RATE + start
        v = 6000 * math.sin(2 * math.pi * 50 * t) + 1500 * math.sin(2 * math.pi * 100 * t) + 300 * noise()
        if faulty:
            v += 2500 * math.sin(2 * math.pi * 230 * t) + 1500 * noise()
        out[i] = int(v)
    return out
