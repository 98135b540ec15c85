# Synthetic 3-axis accelerometer gestures, in g, sampled at RATE Hz. Plain
# Python (math only), so the PC (training) and the board (the demo stream)
# generate the same kind of data. Replace with your sensor's readings.
import math

RATE = 50
WINDOW = 64
LABELS = ("idle", "shake", "circle", "tap")


class Noise:
    """Small deterministic pseudo-random numbers in [-1, 1) (an LCG)."""

    def __init__(self, seed=1):
        self.x = seed

    def __call__(self):
        self.x = (self.x * 75 + 74) % 65537
        return self.x / 32768 - 1


def sample(kind, i, phase, noise):
    """The i-th (x, y, z) sample of gesture `kind` (an index into LABELS)."""
    t = i / RATE + phase
    n = 0.08
    if kind == 0:
        return (n * noise(), n * noise(), 1 + n * noise())
    if kind == 1:
        return (1.5 * math.sin(2 * math.pi * 4 * t) + n * noise(), n * noise(), 1 + n * noise())
    if kind == 2:
        return (math.sin(2 * math.pi * 1.5 * t) + n * noise(), math.cos(2 * math.pi * 1.5 * t) + n * noise(),
                1 + n * noise())
    spike = 2.0 if int(t * RATE) % 25 < 3 else 0.0
    return (n * noise(), n * noise(), 1 + spike + n * noise())
