# Teach the board two new gestures from five examples each, then recognise
# them. Copy this file, gestures.py and learn_gestures.tinyml to the board
# (Thonny: View > Files, right-click > Upload) and run it.
#
# The model was trained on four gestures (idle, shake, circle, tap); it was
# converted with --embedding, so m.embed(window) gives the 16 features its
# classifier looks at. tinyml.learn.NearestCentroid learns a new gesture as
# the mean of a few such feature vectors: no training on the board.
#
# With a real sensor, fill `x` from tinyml.sensors.MPU6050 instead of
# sample() (see examples/gesture/main.py), and ask the user to perform each
# gesture while enrolling.
from array import array

import tinyml
from tinyml.learn import NearestCentroid

from gestures import LABELS, NEW, WINDOW, Noise, sample


def model_source(name):
    try:
        return FILES[name]  # the test runner preloads the model into board memory
    except NameError:
        return name  # a file next to this script


m = tinyml.load(model_source("learn_gestures.tinyml"))
mean, std = m.normalize
x = array("f", bytes(4 * WINDOW * 3))
features = array("f", bytes(4 * m.embedding_size))
noise = Noise(11)


def embed(kind, phase):
    """Record one window of gesture `kind` (here: make one) and return its features."""
    for i in range(WINDOW):
        s = sample(kind, i, phase, noise)
        for c in range(3):
            x[3 * i + c] = (s[c] - mean[c]) / std[c]
    return m.embed(x, features)


clf = NearestCentroid()
# The known gestures are enrolled too, so a new one is told apart from them.
kinds = list(range(len(LABELS) + len(NEW)))
names = LABELS + NEW
for kind in kinds:
    for n in range(5):
        clf.add(embed(kind, 0.37 * n + 0.05 * kind), names[kind])
    print("enrolled %-6s from 5 windows" % names[kind])

try:
    clf.save("gestures.bin")      # survives a reset: NearestCentroid.load("gestures.bin")
    clf = NearestCentroid.load("gestures.bin")
    print("saved and reloaded gestures.bin")
except OSError:
    pass  # a board without a filesystem

right = total = 0
for n in range(15):
    for kind in range(len(LABELS), len(kinds)):
        got = clf.predict(embed(kind, 0.21 * n + 1.3))
        right += got == names[kind]
        total += 1
old = sum(clf.predict(embed(kind, 0.29 * n + 0.7)) == names[kind] for n in range(3) for kind in range(len(LABELS)))
print("new gestures: %d/%d windows right; known gestures: %d/%d" % (right, total, old, 3 * len(LABELS)))
print("%s new gestures %d%%" % ("PASS" if right * 10 >= total * 9 else "FAIL", 100 * right // total))
