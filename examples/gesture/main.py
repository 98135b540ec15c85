# Gesture recognition on the board: accelerometer samples in, one gesture
# name per window out. Copy this file, gestures.py and gesture.tinyml to the
# board (Thonny: View > Files, right-click > Upload) and run it.
#
# With a real sensor, replace the synthetic stream by:
#     from machine import I2C, Pin
#     from tinyml.sensors import MPU6050
#     imu = MPU6050(I2C(0, scl=Pin(1), sda=Pin(0)), rate=50, range_g=4)
#     ... p.push([v * 4 / 32768 for v in imu.read()])  (raw counts to g)
import tinyml
from tinyml.pipeline import Window, Normalize, Pipeline
from tinyml.classify import top_k

from gestures import LABELS, WINDOW, Noise, sample


def model_source(name):
    try:
        return FILES[name]  # the test runner preloads the model into board memory
    except NameError:
        return name  # a file next to this script


m = tinyml.load(model_source("gesture.tinyml"))
m.summary()
p = Pipeline(Window(size=WINDOW, hop=WINDOW, channels=3), Normalize.from_model(m), model=m)

noise = Noise(7)
truth = (0, 1, 2, 3, 2, 1, 3, 0)
right = 0
for n, kind in enumerate(truth):
    for i in range(WINDOW):
        scores = p.push(sample(kind, i, 0.13 * n, noise))
    best = top_k(scores, 1, m.labels)[0]
    right += best[0] == LABELS[kind]
    print("window %d: %-6s (%.2f)  truth %s" % (n, best[0], best[1], LABELS[kind]))
print("profile (us):", m.profile(p.stages[1].out))
print("%s %d/%d windows right" % ("PASS" if right >= len(truth) - 1 else "FAIL", right, len(truth)))
