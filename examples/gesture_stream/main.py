# Streaming gesture recognition: one accelerometer sample per predict(), an
# LSTM whose state carries the gesture so far, a decision after WINDOW
# samples, then reset() for the next gesture. Copy this file, gestures.py
# (from examples/gesture) and gesture_stream.tinyml to the board (Thonny:
# View > Files, right-click > Upload) and run it.
#
# With a real sensor, feed each new reading instead of sample(...):
#     from machine import I2C, Pin
#     from tinyml.sensors import MPU6050
#     imu = MPU6050(I2C(0, scl=Pin(1), sda=Pin(0)), rate=50, range_g=4)
#     scores = m.predict(normalized([v * 4 / 32768 for v in imu.read()]))
import tinyml
from tinyml.classify import top_k

from gestures import LABELS, Noise, sample

WINDOW = 32


def model_source(name):
    try:
        return FILES[name]  # the test runner preloads the model into board memory
    except NameError:
        return name  # a file next to this script


m = tinyml.load(model_source("gesture_stream.tinyml"))
m.summary()
mean, std = m.normalize  # stored by train.py


def normalized(xyz):
    return [(v - mean[k]) / std[k] for k, v in enumerate(xyz)]


noise = Noise(7)
truth = (0, 1, 2, 3, 2, 1, 3, 0)
right = 0
for n, kind in enumerate(truth):
    m.reset()  # a new gesture: forget the last one
    for i in range(WINDOW):
        scores = m.predict(normalized(sample(kind, i, 0.13 * n, noise)))
    best = top_k(scores, 1, m.labels)[0]
    right += best[0] == LABELS[kind]
    print("gesture %d: %-6s (%.2f)  truth %s" % (n, best[0], best[1], LABELS[kind]))
print("profile of one sample (us):", m.profile(normalized(sample(0, 0, 0, noise))))
print("%s %d/%d gestures right" % ("PASS" if right >= len(truth) - 1 else "FAIL", right, len(truth)))
