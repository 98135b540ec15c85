# Keyword spotting on the board: audio samples in, MFCC frames, a DS-CNN
# model, one word per clip out. Copy this file, sounds.py and
# keyword.tinyml to the board (Thonny: upload them) and run it.
#
# With a real microphone (ESP32 or RP2040):
#     from machine import I2S, Pin
#     from tinyml.sensors import I2SMic
#     mic = I2SMic(I2S(0, sck=Pin(16), ws=Pin(17), sd=Pin(18), mode=I2S.RX,
#                      bits=32, format=I2S.MONO, rate=8000, ibuf=8000))
#     mic.readinto(audio)     # instead of clip(...)
from array import array

import tinyml
from tinyml.pipeline import Window, MFCC, Pipeline
from tinyml.classify import top_k

from sounds import CLIP, FFT, HOP, N_MELS, N_MFCC, FRAMES, RATE, LABELS, Noise, clip


def model_source(name):
    try:
        return FILES[name]  # the test runner preloads the model into board memory
    except NameError:
        return name  # a file next to this script


m = tinyml.load(model_source("keyword.tinyml"))
# audio frames -> MFCC per frame -> FRAMES x N_MFCC "image" -> model
p = Pipeline(Window(size=FFT, hop=HOP, typecode="h"), MFCC(FFT, RATE, n_mels=N_MELS, n_mfcc=N_MFCC),
             Window(size=FRAMES, hop=FRAMES, channels=N_MFCC), model=m)
audio = array("h", bytes(2 * CLIP))
noise = Noise(11)
truth = (1, 2, 0, 2, 1, 0)
right = 0
for n, kind in enumerate(truth):
    clip(kind, audio, noise, start=0.7 * n, loud=0.6 + 0.1 * n)
    p.reset()
    scores = None
    for r in p.feed(audio):
        scores = r
    word, score = top_k(scores, 1, m.labels)[0]
    right += word == LABELS[kind]
    print("clip %d: %-7s (%.2f)  truth %s" % (n, word, score, LABELS[kind]))
print("%s %d/%d clips right" % ("PASS" if right >= len(truth) - 1 else "FAIL", right, len(truth)))
