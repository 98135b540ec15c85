# Board audio features (the C in the firmware) against the NumPy mirror on
# the PC: the .exp file is tinyml_converter.features' output for the same
# frames (tests/host/test_features_board.py writes and checks it).
from array import array

from _tinyml import AudioFeatures


def frames(n):
    # Integer-only test signals, identical in NumPy: an LCG noise frame, a
    # full-scale square wave, and a quiet triangle.
    out = []
    x = 1
    a = array("h", bytes(2 * n))
    for i in range(n):
        x = (x * 75 + 74) % 65537
        a[i] = min(x - 32768, 32767)
    out.append(a)
    out.append(array("h", [32767 if (i // 8) % 2 else -32768 for i in range(n)]))
    out.append(array("h", [(i % 32) * 20 - 320 for i in range(n)]))
    return out


fe = AudioFeatures(256, 8000, n_mels=20, n_mfcc=10)
mag = array("i", bytes(4 * 129))
lm = array("i", bytes(4 * 20))
cc = array("i", bytes(4 * 10))
for k, f in enumerate(frames(256)):
    print("frame", k)
    print("mag", list(fe.magnitude(f, mag)))
    print("logmel", list(fe.log_mel(f, lm)))
    print("mfcc", list(fe.mfcc(f, cc)))

fe2 = AudioFeatures(64, 16000, n_mels=8, fmin=300, fmax=6000, n_mfcc=4)
f = frames(64)[0]
print("small", list(fe2.mfcc(f, array("i", bytes(16)))))

for bad in ((100, 8000), (256, 0), (256, 8000, 300)):
    try:
        AudioFeatures(*bad)
    except ValueError as e:
        print("ValueError", e)
try:
    fe.mfcc(array("h", bytes(20)), cc)
except ValueError as e:
    print("ValueError", e)
try:
    AudioFeatures(64, 8000).mfcc(f, cc)
except ValueError as e:
    print("ValueError", e)
