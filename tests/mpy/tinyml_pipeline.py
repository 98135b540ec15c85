# tinyml.pipeline and tinyml.classify: windows, normalisation, feature
# stages and decisions, with hand-worked expected values.
from array import array

from tinyml.pipeline import Window, Normalize, Spectrogram, MFCC, Pipeline
from tinyml.classify import argmax, top_k, Smooth, Debounce


def show(a):
    return [round(v, 3) for v in a]


w = Window(size=4, hop=3)
print([list(r) for r in (w.push(i) for i in range(10)) if r is not None])

w = Window(size=3, hop=1, channels=2, typecode="h")
print([list(r) for r in (w.push((i, -i)) for i in range(4)) if r is not None])

w = Window(size=2, channels=3)
print([list(r) for r in w.feed(array("h", range(12)))])

try:
    Window(size=4, channels=3).push((1, 2))
except ValueError as e:
    print("ValueError", e)

n = Normalize(mean=(1, 10), std=(2, 4))
print(show(n(array("f", [3, 14, -1, 2]))))
n = Normalize(min=0, max=8)
print(show(n([2, 4, 8])))
try:
    Normalize(mean=0, std=0)
except ValueError as e:
    print("ValueError", e)


class FakeModel:
    def predict(self, x):
        return array("f", [sum(x), len(x)])


p = Pipeline(Window(size=4, hop=2), Normalize(mean=1, std=0.5), model=FakeModel())
print([show(r) for r in (p.push(v) for v in (1, 2, 3, 4, 5, 6)) if r is not None])

# Audio stages: the same numbers as _tinyml.AudioFeatures, scaled to floats.
from _tinyml import AudioFeatures

frame = array("h", [((i * 37) % 200 - 100) * 50 for i in range(64)])
raw = AudioFeatures(64, 8000, 8, 0, 0, 5).mfcc(frame, array("i", bytes(20)))
m = MFCC(64, 8000, n_mels=8, n_mfcc=5)(frame)
print(all(abs(m[i] - raw[i] / 65536) < 1e-4 for i in range(5)), len(m))
s = Spectrogram(64, 8000)(frame)
print(len(s), s[0] >= 0)
p = Pipeline(Window(size=64, hop=32, typecode="h"), MFCC(64, 8000, n_mels=8, n_mfcc=5))
out = [r for r in p.feed(array("h", list(frame) * 2)) if r is not None]
print(len(out))
try:
    MFCC(64, 8000, n_mels=8, n_mfcc=5)(array("h", bytes(10)))
except ValueError as e:
    print("ValueError", e)

scores = array("f", [0.1, 0.7, 0.2])
print(argmax(scores), [(l, round(s, 2)) for l, s in top_k(scores, 2, ("a", "b", "c"))])
try:
    top_k(scores, 2, ("a", "b"))
except ValueError as e:
    print("ValueError", e)
sm = Smooth(2)
sm.update([1.0, 0.0])
print(show(sm.update([0.0, 1.0])), show(sm.update([0.0, 1.0])))

d = Debounce(threshold=0.6, count=2, release=2, ignore=0)
seq = [[0.9, 0.1], [0.2, 0.8], [0.2, 0.8], [0.2, 0.8], [0.3, 0.7], [0.9, 0.1], [0.2, 0.8], [0.9, 0.1],
       [0.9, 0.1], [0.2, 0.8], [0.2, 0.8]]
print([d.update(s) for s in seq])
