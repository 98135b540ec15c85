# Synthetic 3-axis accelerometer gestures, in g, sampled at RATE Hz. Plain
# Python (math only), so the PC (training) and the board (enrolling new
# gestures) make the same kind of data. Replace with your sensor's readings
# (tinyml record writes them as .npy files).
import math

RATE = 50
WINDOW = 64
LABELS = ("idle", "shake", "circle", "tap")   # what train.py teaches the model
NEW = ("wave", "tilt")                       # what main.py teaches the board


class Noise:
    """Small deterministic pseudo-random numbers in [-1, 1) (an LCG)."""

    def __init__(self, seed=1):
        self.x = seed

    def __call__(self):
        self.x = (self.x * 75 + 74) % 65537
        return self.x / 32768 - 1


def sample(kind, i, phase, noise):
    """The i-th (x, y, z) sample of gesture `kind`: an index into LABELS,
    then NEW (4 is wave, 5 is tilt)."""
    t = i / RATE + phase
    n = 0.08
    if kind == 0:
        return (n * noise(), n * noise(), 1 + n * noise())
    if kind == 1:
        return (1.5 * math.sin(2 * math.pi * 4 * t) + n * noise(), n * noise(), 1 + n * noise())
    if kind == 2:
        return (math.sin(2 * math.pi * 1.5 * t) + n * noise(), math.cos(2 * math.pi * 1.5 * t) + n * noise(),
                1 + n * noise())
    if kind == 3:
        spike = 2.0 if int(t * RATE) % 25 < 3 else 0.0
        return (n * noise(), n * noise(), 1 + spike + n * noise())
    if kind == 4:
        # A side-to-side wave: the y axis, where a shake moves x.
        return (n * noise(), 1.2 * math.sin(2 * math.pi * 3 * t) + n * noise(), 1 + n * noise())
    # The board held tilted: gravity shared between x and z, a slow wobble.
    w = 0.15 * math.sin(2 * math.pi * 0.5 * t)
    return (0.7 + w + n * noise(), n * noise(), 0.7 - w + n * noise())
