# Synthetic "keywords" at 8 kHz: a rising whistle ("up"), a falling one
# ("down"), and background noise ("silence"). Plain Python (math only), so
# the PC and the board make the same kind of clips. Record your own with
# tinyml.sensors.I2SMic and keep the same settings below.
import math

RATE = 8000
CLIP = 4000          # samples: half a second
FFT = 256            # samples per frame (32 ms)
HOP = 128
N_MELS = 20
N_MFCC = 10
FRAMES = 1 + (CLIP - FFT) // HOP
LABELS = ("silence", "up", "down")


class Noise:
    def __init__(self, seed=1):
        self.x = seed

    def __call__(self):
        self.x = (self.x * 75 + 74) % 65537
        return self.x / 32768 - 1


def clip(kind, out, noise, start=0.0, loud=1.0):
    """Fill out (CLIP int16 samples) with a clip of class `kind`."""
    phase = 0.0
    f0, f1 = (600, 1800) if kind == 1 else (1800, 600)
    for i in range(CLIP):
        v = 400 * noise()
        if kind and 800 <= i < 3200:
            f = f0 + (f1 - f0) * (i - 800) / 2400
            phase += 2 * math.pi * f / RATE
            v += 6000 * loud * math.sin(phase + start)
        out[i] = int(v)
    return out
