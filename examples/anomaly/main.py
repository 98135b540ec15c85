# Vibration anomaly detection on the board: an autoencoder learnt what a
# healthy machine sounds like; a window it cannot reconstruct is an anomaly.
# The threshold is learnt on the board: the first windows after start-up
# are taken as healthy. Copy this file, vibration.py and anomaly.tinyml to
# the board (Thonny: upload them) and run it.
#
# With a real sensor: tinyml.sensors.ADCSampler(machine.ADC(26), rate=1000)
# .read(buf) (an analog accelerometer), or MPU6050.read_fifo.
from array import array

import tinyml
from tinyml.pipeline import Normalize, Spectrogram

from vibration import FFT, RATE, Noise, window


def model_source(name):
    try:
        return FILES[name]  # the test runner preloads the model into board memory
    except NameError:
        return name  # a file next to this script


m = tinyml.load(model_source("anomaly.tinyml"))
spectrum = Spectrogram(FFT, RATE)
norm = Normalize.from_model(m)
raw = array("h", bytes(2 * FFT))
noise = Noise(5)


def error(faulty, n):
    x = norm(spectrum(window(raw, noise, 0.37 * n, faulty)))
    y = m.predict(x)
    return sum((a - b) * (a - b) for a, b in zip(x, y)) / len(x)


learn = [error(False, n) for n in range(10)]
threshold = 1.5 * max(learn)
print("threshold %.3f from %d healthy windows" % (threshold, len(learn)))
truth = (False, False, True, False, True, True, False, True)
right = 0
for n, faulty in enumerate(truth):
    e = error(faulty, 100 + n)
    alarm = e > threshold
    right += alarm == faulty
    print("window %d: error %.3f %s  truth %s" % (n, e, "ANOMALY" if alarm else "ok", "faulty" if faulty else "healthy"))
print("%s %d/%d windows right" % ("PASS" if right == len(truth) else "FAIL", right, len(truth)))
