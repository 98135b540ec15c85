"""Audio features: the C core (tml_features.c, through the host build of the
shipped sources) equals the NumPy mirror (tinyml_converter.features) bit for
bit, and both agree with a float reference (np.fft.rfft, a float HTK mel
filterbank, a float DCT) within stated tolerances."""

import ctypes

import numpy as np
import pytest

from tinyml_converter import features as F
from tinyml_converter.host_runtime import load_library


class _Audio(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint32) for n in ("fft_size", "log2_fft", "sample_rate", "n_mels", "n_mfcc")] + [
        ("mel_band", ctypes.c_void_p), ("mel_weight", ctypes.c_void_p)]


def _declare(lib):
    P, V, U32 = ctypes.POINTER(_Audio), ctypes.c_void_p, ctypes.c_uint32
    for name, res, args in [
        ("tml_audio_init", ctypes.c_int, [P, U32, U32, U32, U32, U32, U32, V, V]),
        ("tml_audio_rfft", None, [P, V, V]),
        ("tml_audio_magnitude", None, [P, V, V]),
        ("tml_audio_mel", None, [P, V, V]),
        ("tml_audio_log", None, [V, U32, V]),
        ("tml_audio_dct", None, [P, V, V]),
        ("tml_sin_q15", ctypes.c_int32, [U32]),
        ("tml_phase", U32, [U32, U32]),
        ("tml_log2_q16", U32, [ctypes.c_uint64]),
    ]:
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


class CAudio:
    """The C feature code, driven the way modtinyml.c drives it."""

    def __init__(self, fft_size, sample_rate, n_mels=0, fmin=0, fmax=0, n_mfcc=0):
        self.lib = lib = _declare(load_library())
        self.n, self.n_mels, self.n_mfcc = fft_size, n_mels, n_mfcc
        bins = fft_size // 2 + 1
        self.band = (ctypes.c_uint8 * bins)()
        self.weight = (ctypes.c_uint16 * bins)()
        self.a = _Audio()
        status = lib.tml_audio_init(ctypes.byref(self.a), fft_size, sample_rate, n_mels, fmin, fmax, n_mfcc,
                                    ctypes.addressof(self.band), ctypes.addressof(self.weight))
        if status:
            raise ValueError(f"tml_audio_init: status {status}")

    def rfft(self, frame):
        frame = np.ascontiguousarray(frame, dtype=np.int16)
        spec = np.zeros(self.n + 2, dtype=np.int32)
        self.lib.tml_audio_rfft(ctypes.byref(self.a), frame.ctypes.data, spec.ctypes.data)
        return spec

    def magnitude(self, frame):
        spec = self.rfft(frame)
        mag = np.zeros(self.n // 2 + 1, dtype=np.uint32)
        self.lib.tml_audio_magnitude(ctypes.byref(self.a), spec.ctypes.data, mag.ctypes.data)
        return mag

    def log_mel(self, frame):
        spec = self.rfft(frame)
        energy = np.zeros(self.n_mels, dtype=np.uint64)
        self.lib.tml_audio_mel(ctypes.byref(self.a), spec.ctypes.data, energy.ctypes.data)
        out = np.zeros(self.n_mels, dtype=np.int32)
        self.lib.tml_audio_log(energy.ctypes.data, self.n_mels, out.ctypes.data)
        return energy, out

    def mfcc(self, frame):
        _, lm = self.log_mel(frame)
        out = np.zeros(self.n_mfcc, dtype=np.int32)
        self.lib.tml_audio_dct(ctypes.byref(self.a), lm.ctypes.data, out.ctypes.data)
        return out


def _frames(n, rng, sr=8000):
    t = np.arange(n) / sr
    out = [
        np.zeros(n), np.full(n, -32768), np.full(n, 32767),
        np.where(np.arange(n) % 2, 32767, -32768),           # Nyquist at full scale
        32767 * np.sin(2 * np.pi * 1000 * t),
        3000 * np.sin(2 * np.pi * 440 * t) + 500 * np.cos(2 * np.pi * 2500 * t),
        rng.integers(-32768, 32768, n),
        rng.integers(-40, 40, n),                             # quiet: precision near the floor
    ]
    return np.array(out).round().clip(-32768, 32767).astype(np.int16)


CONFIGS = [
    dict(fft_size=16, sample_rate=8000, n_mels=4, n_mfcc=3),
    dict(fft_size=64, sample_rate=16000, n_mels=10, fmin=100, fmax=7000, n_mfcc=10),
    dict(fft_size=256, sample_rate=8000, n_mels=32, n_mfcc=13),
    dict(fft_size=512, sample_rate=16000, n_mels=40, fmin=20, fmax=8000, n_mfcc=13),
    dict(fft_size=1024, sample_rate=48000, n_mels=64, fmin=0, fmax=24000, n_mfcc=20),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"n{c['fft_size']}_m{c['n_mels']}")
def test_c_equals_numpy_bit_for_bit(cfg):
    c, py = CAudio(**cfg), F.AudioFeatures(**cfg)
    np.testing.assert_array_equal(np.frombuffer(c.band, np.uint8), py.mel_band)
    np.testing.assert_array_equal(np.frombuffer(c.weight, np.uint16), py.mel_weight)
    frames = _frames(cfg["fft_size"], np.random.default_rng(cfg["fft_size"]), cfg["sample_rate"])
    spec_py = py.rfft(frames)
    mag_py, e_py, lm_py, mfcc_py = py.magnitude(frames), py.mel_energy(frames), py.log_mel(frames), py.mfcc(frames)
    for i, fr in enumerate(frames):
        np.testing.assert_array_equal(c.rfft(fr), spec_py[i].reshape(-1), err_msg=f"rfft frame {i}")
        np.testing.assert_array_equal(c.magnitude(fr), mag_py[i], err_msg=f"magnitude frame {i}")
        energy, lm = c.log_mel(fr)
        np.testing.assert_array_equal(energy, e_py[i], err_msg=f"mel energy frame {i}")
        np.testing.assert_array_equal(lm, lm_py[i], err_msg=f"log-mel frame {i}")
        np.testing.assert_array_equal(c.mfcc(fr), mfcc_py[i], err_msg=f"mfcc frame {i}")


def test_building_blocks_by_hand():
    lib = _declare(load_library())
    quarter = 1 << 30
    for ph, want in [(0, 0), (quarter, 32767), (2 * quarter, 0), (3 * quarter, -32767), (quarter // 3, 16383.5)]:
        got = lib.tml_sin_q15(ph)
        assert abs(got - want) <= 2, (ph, got, want)   # sin(30 deg) = 0.5; table + interpolation floors
        assert F.sin_q15(ph) == got
    for v, want in [(1, 0), (2, 65536), (1 << 40, 40 << 16), (3, round(65536 * np.log2(3)))]:
        got = lib.tml_log2_q16(v)
        assert abs(got - want) <= 4, (v, got, want)
        assert F.log2_q16(v) == got
    assert lib.tml_phase(1, 4) == 1 << 30 and lib.tml_phase(5, 4) == 1 << 30
    assert lib.tml_phase(1, 3) == 0x55555555 == F.phase(1, 3)


def _float_reference(cfg, frames):
    """Float Hann-windowed rfft and HTK mel filterbank, written from the textbook definitions."""
    n, sr, n_mels = cfg["fft_size"], cfg["sample_rate"], cfg["n_mels"]
    fmin, fmax = cfg.get("fmin", 0), cfg.get("fmax", 0) or sr // 2
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
    spec = np.fft.rfft(frames * win, axis=-1)
    mel = lambda f: 1127 * np.log(1 + f / 700)  # noqa: E731
    edges_mel = np.linspace(mel(fmin), mel(fmax), n_mels + 2)
    edges_bin = 700 * (np.exp(edges_mel / 1127) - 1) * n / sr
    k = np.arange(n // 2 + 1)[:, None]
    lo, mid, hi = edges_bin[:-2], edges_bin[1:-1], edges_bin[2:]
    fb = np.clip(np.minimum((k - lo) / (mid - lo), (hi - k) / (hi - mid)), 0, None)
    energy = np.abs(spec) ** 2 @ fb
    return spec, energy


@pytest.mark.parametrize("cfg", CONFIGS[2:4], ids=lambda c: f"n{c['fft_size']}")
def test_close_to_float_reference(cfg):
    """Tolerances: spectrum within 2e-4 of full scale (Q15 twiddles and window);
    log-mel within 0.03 nats (0.13 dB; mel edges are Q8 bins) where a band holds real energy; MFCC within 0.1."""
    rng = np.random.default_rng(1)
    n = cfg["fft_size"]
    t = np.arange(n) / cfg["sample_rate"]
    frames = np.array([8000 * np.sin(2 * np.pi * f * t) + rng.normal(0, 300, n) for f in (300, 1234, 3100)])
    frames = frames.round().astype(np.int16)
    py = F.AudioFeatures(**cfg)
    spec_ref, energy_ref = _float_reference(cfg, frames.astype(np.float64))
    spec = py.rfft(frames)
    got = spec[..., 0] + 1j * spec[..., 1]
    full = 32768 * n / 2
    assert np.max(np.abs(got - spec_ref)) < 2e-4 * full
    lm = py.log_mel(frames) / F.Q16
    strong = energy_ref > 1e6
    assert strong.sum() > 10
    np.testing.assert_allclose(lm[strong], np.log(energy_ref[strong]), atol=0.03)
    lm_ref = np.log(np.maximum(energy_ref, 1))
    b = np.arange(cfg["n_mels"])
    dct = np.cos(np.pi * np.arange(cfg["n_mfcc"])[:, None] * (2 * b + 1) / (2 * cfg["n_mels"]))
    np.testing.assert_allclose(py.mfcc(frames) / F.Q16, lm_ref @ dct.T, atol=0.1)


def test_magnitude_of_a_pure_tone():
    """A bin-centred cosine of amplitude A under a periodic Hann window has
    |X[k]| = A * N / 4 exactly, and its neighbours A * N / 8."""
    n, k = 256, 16
    x = np.round(16000 * np.cos(2 * np.pi * k * np.arange(n) / n)).astype(np.int16)
    mag = CAudio(n, 8000).magnitude(x)
    assert abs(int(mag[k]) - 16000 * n // 4) <= 0.001 * 16000 * n / 4
    assert abs(int(mag[k + 1]) - 16000 * n // 8) <= 0.001 * 16000 * n / 8
    assert mag[k + 3:].max() < 16000 * n / 4 * 1e-3


@pytest.mark.parametrize("kwargs", [
    dict(fft_size=100, sample_rate=8000), dict(fft_size=2048, sample_rate=8000),
    dict(fft_size=256, sample_rate=0), dict(fft_size=256, sample_rate=8000, fmax=5000, n_mels=4),
    dict(fft_size=256, sample_rate=8000, n_mels=4, n_mfcc=5), dict(fft_size=256, sample_rate=8000, n_mels=255),
])
def test_bad_parameters_refused(kwargs):
    with pytest.raises(ValueError):
        CAudio(**kwargs)
    with pytest.raises(ValueError):
        F.AudioFeatures(**kwargs)


def test_frames_match_window_semantics():
    x = np.arange(10)
    np.testing.assert_array_equal(F.frames(x, 4, 3), [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])
    assert F.frames(x, 11, 1).shape == (0, 11)
