"""Audio and sensor features on the PC, bit for bit what the board computes.

`AudioFeatures` mirrors usermod_c/tml_features.c step by step in NumPy
integer arithmetic (the definitions are in tml_features.h), so a model
trained on these features sees exactly the numbers `_tinyml.AudioFeatures`
produces on a board. `frames()` cuts a signal as `tinyml.pipeline.Window`
does. tests/host/test_features.py checks both against the C core and
against a float reference (np.fft, a float mel filterbank).

    fe = AudioFeatures(fft_size=256, sample_rate=8000, n_mels=32, n_mfcc=13)
    x = frames(audio_int16, size=256, hop=128)        # (frames, 256)
    mfcc = fe.mfcc(x) / 65536.0                       # (frames, 13), what the board sees
"""

from __future__ import annotations

import numpy as np

MIN_FFT, MAX_FFT, MAX_MELS, MAX_RATE = 16, 1024, 254, 64000
NO_BAND = 255
Q16 = 65536.0  # log-mel and MFCC values are Q16: divide by this for natural-log units

# The three constant tables of tml_features.c, from their defining formulas.
_SIN = np.round(32767 * np.sin(2 * np.pi * np.arange(257) / 1024)).astype(np.int64)
_LOG2 = np.round(65536 * np.log2(1 + np.arange(65) / 64)).astype(np.int64)
_EXP2 = np.round(2**24 * 2 ** (np.arange(65) / 64)).astype(np.int64)
_LN2_Q16 = 45426
_MEL_BREAK_HZ = 700


def sin_q15(phase) -> np.ndarray:
    """tml_sin_q15: phase is a fraction of a turn times 2^32 (uint32)."""
    phase = np.asarray(phase, dtype=np.uint64) & 0xFFFFFFFF
    quadrant = phase >> 30
    p = (phase & 0x3FFFFFFF).astype(np.int64)
    p = np.where(quadrant & 1, 0x40000000 - p, p)
    i = p >> 22
    frac = (p >> 6) & 0xFFFF
    nxt = np.minimum(i + 1, 256)
    v = _SIN[i] + (((_SIN[nxt] - _SIN[i]) * frac) >> 16)
    return np.where(quadrant & 2, -v, v)


def cos_q15(phase) -> np.ndarray:
    return sin_q15((np.asarray(phase, dtype=np.uint64) + 0x40000000) & 0xFFFFFFFF)


def phase(num, den) -> np.ndarray:
    """tml_phase: floor(2^32 * (num mod den) / den)."""
    num = np.asarray(num, dtype=np.int64)
    r = num % den
    hi = (r << 16) // den
    lo = (((r << 16) % den) << 16) // den
    return (hi << 16) | lo


def log2_q16(v) -> np.ndarray:
    """tml_log2_q16 of positive integers (exact in Python ints, up to 2^64)."""
    v = np.asarray(v, dtype=np.uint64)
    # bit_length on the object view: NumPy has no exact integer log2.
    e = np.vectorize(lambda x: int(x).bit_length() - 1, otypes=[np.int64])(v) if v.size else v.astype(np.int64)
    e = np.maximum(e, 0)
    y = np.where(e >= 31, v >> np.maximum(e - 31, 0).astype(np.uint64),
                 v << np.maximum(31 - e, 0).astype(np.uint64)).astype(np.int64)
    m = y - 0x80000000
    i = m >> 25
    frac = (m >> 9) & 0xFFFF
    return (e << 16) + _LOG2[i] + (((_LOG2[i + 1] - _LOG2[i]) * frac) >> 16)


def _exp2_q8(u: int) -> int:
    e = u >> 16
    i = (u >> 10) & 63
    frac = u & 0x3FF
    mant = int(_EXP2[i]) + (((int(_EXP2[i + 1]) - int(_EXP2[i])) * frac) >> 10)
    return mant >> (16 - e)


def _mul_q15(a, c):
    """floor(a * c / 2^15), as tml_mul_q15 (exact in int64 here)."""
    return (a * c) >> 15


def _mul_w(p, w):
    """floor(p * w / 2^15) for p < 2^52, w <= 2^15 without leaving uint64."""
    s15 = np.uint64(15)
    return (p >> s15) * w + (((p & np.uint64(0x7FFF)) * w) >> s15)


def frames(signal, size: int, hop: int) -> np.ndarray:
    """Cut a 1-D (samples) or 2-D (samples, channels) signal into windows
    exactly as tinyml.pipeline.Window emits them: the first window ends at
    sample size-1, then one every `hop` samples; a partial tail is dropped."""
    x = np.asarray(signal)
    if size <= 0 or hop <= 0:
        raise ValueError(f"frames: size and hop must be positive, got size={size} hop={hop}")
    count = 0 if len(x) < size else 1 + (len(x) - size) // hop
    idx = np.arange(size)[None, :] + hop * np.arange(count)[:, None]
    return x[idx]


class AudioFeatures:
    """The NumPy twin of `_tinyml.AudioFeatures` (same arguments, same
    integers out). Every method takes one frame (fft_size int16 samples) or
    a batch (frames, fft_size) and returns int64 arrays."""

    def __init__(self, fft_size: int, sample_rate: int, n_mels: int = 0, fmin: int = 0,
                 fmax: int = 0, n_mfcc: int = 0):
        fmax = fmax or sample_rate // 2
        if fft_size < MIN_FFT or fft_size > MAX_FFT or fft_size & (fft_size - 1):
            raise ValueError(f"fft_size must be a power of two from {MIN_FFT} to {MAX_FFT}, got {fft_size}")
        if not 0 < sample_rate <= MAX_RATE:
            raise ValueError(f"sample_rate must be 1..{MAX_RATE} Hz, got {sample_rate}")
        if not 0 <= fmin < fmax <= sample_rate // 2:
            raise ValueError(f"need 0 <= fmin < fmax <= sample_rate/2, got fmin={fmin} fmax={fmax}")
        if not 0 <= n_mfcc <= n_mels <= MAX_MELS:
            raise ValueError(f"need 0 <= n_mfcc <= n_mels <= {MAX_MELS}, got n_mels={n_mels} n_mfcc={n_mfcc}")
        self.fft_size, self.sample_rate = fft_size, sample_rate
        self.n_mels, self.n_mfcc, self.fmin, self.fmax = n_mels, n_mfcc, fmin, fmax
        self.log2_fft = fft_size.bit_length() - 1
        self.bins = fft_size // 2 + 1
        n = np.arange(fft_size)
        self.window = (32767 - cos_q15(n << (32 - self.log2_fft))) >> 1
        self.mel_band, self.mel_weight = self._mel_tables() if n_mels else (None, None)
        if n_mfcc:
            i = np.arange(n_mfcc)[:, None]
            b = np.arange(n_mels)[None, :]
            self.dct = cos_q15(phase(i * (2 * b + 1), 4 * n_mels))  # (n_mfcc, n_mels)

    def _mel_tables(self):
        n_mels, sr, fft = self.n_mels, self.sample_rate, self.fft_size
        u_lo = int(log2_q16(_MEL_BREAK_HZ + self.fmin))
        u_hi = int(log2_q16(_MEL_BREAK_HZ + self.fmax))
        edges = []
        for j in range(n_mels + 2):
            u = u_lo + ((u_hi - u_lo) * j) // (n_mels + 1)
            f_q8 = max(_exp2_q8(u) - (_MEL_BREAK_HZ << 8), 0)
            edges.append((f_q8 // sr) * fft + ((f_q8 % sr) * fft) // sr)
        band = np.full(self.bins, NO_BAND, dtype=np.int64)
        weight = np.zeros(self.bins, dtype=np.int64)
        pos = np.arange(self.bins) << 8
        for j in range(n_mels + 1):
            lo, hi = edges[j], edges[j + 1]
            sel = (pos >= lo) & (pos < hi)
            band[sel] = j
            weight[sel] = ((pos[sel] - lo) << 15) // (hi - lo)
        self.edges_q8 = np.array(edges)
        return band, weight

    def _frames(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.shape[-1] != self.fft_size:
            raise ValueError(f"a frame has {self.fft_size} samples, got shape {x.shape}")
        if x.dtype.kind not in "iu" or x.min(initial=0) < -32768 or x.max(initial=0) > 32767:
            raise ValueError("frames must be int16 samples")
        return x.astype(np.int64)

    def rfft(self, x) -> np.ndarray:
        """(..., fft_size/2+1, 2) int32 re/im, as tml_audio_rfft."""
        x = self._frames(x)
        xw = (x * self.window + 16384) >> 15
        m = self.fft_size // 2
        log2_m = self.log2_fft - 1
        re, im = xw[..., 0::2], xw[..., 1::2]
        rev = np.array([int(format(i, f"0{log2_m}b")[::-1], 2) for i in range(m)])
        re, im = re[..., rev], im[..., rev]
        for s in range(1, log2_m + 1):
            half = 1 << (s - 1)
            k = np.arange(half)
            c = cos_q15(k << (32 - s))
            sn = sin_q15(k << (32 - s))
            shape = re.shape[:-1] + (m // (2 * half), 2, half)
            re, im = re.reshape(shape), im.reshape(shape)
            xr, xi, yr, yi = re[..., 0, :], im[..., 0, :], re[..., 1, :], im[..., 1, :]
            t_re = _mul_q15(yr, c) + _mul_q15(yi, sn)
            t_im = _mul_q15(yi, c) - _mul_q15(yr, sn)
            re = np.stack([xr + t_re, xr - t_re], axis=-2).reshape(re.shape[:-3] + (m,))
            im = np.stack([xi + t_im, xi - t_im], axis=-2).reshape(im.shape[:-3] + (m,))
        k = np.arange(m + 1)
        a_re, a_im = re[..., k % m], im[..., k % m]
        b_re, b_im = re[..., (m - k) % m], im[..., (m - k) % m]
        e_re, e_im = a_re + b_re, a_im - b_im
        o_re, o_im = a_im + b_im, b_re - a_re
        ph = k << (32 - self.log2_fft)
        c, sn = cos_q15(ph), sin_q15(ph)
        out_re = (e_re + _mul_q15(o_re, c) + _mul_q15(o_im, sn)) >> 1
        out_im = (e_im + _mul_q15(o_im, c) - _mul_q15(o_re, sn)) >> 1
        return np.stack([out_re, out_im], axis=-1)

    @staticmethod
    def _power(spec) -> np.ndarray:
        return (spec[..., 0] ** 2 + spec[..., 1] ** 2).astype(np.uint64)

    def magnitude(self, x) -> np.ndarray:
        """(..., fft_size/2+1): floor(sqrt(re^2 + im^2))."""
        p = self._power(self.rfft(x))
        return np.vectorize(lambda v: __import__("math").isqrt(int(v)), otypes=[np.int64])(p)

    def mel_energy(self, x) -> np.ndarray:
        """(..., n_mels) uint64 filterbank energies, as tml_audio_mel."""
        if not self.n_mels:
            raise ValueError("this AudioFeatures has n_mels=0: give n_mels to get mel features")
        p = self._power(self.rfft(x))
        energy = np.zeros(p.shape[:-1] + (self.n_mels,), dtype=np.uint64)
        w = self.mel_weight.astype(np.uint64)
        for k in range(self.bins):
            band = int(self.mel_band[k])
            if band == NO_BAND:
                continue
            pk = p[..., k]
            if band < self.n_mels:
                energy[..., band] += _mul_w(pk, w[k])
            if band > 0:
                energy[..., band - 1] += _mul_w(pk, np.uint64(32768) - w[k])
        return energy

    @staticmethod
    def log(energy) -> np.ndarray:
        """ln(max(energy, 1)) in Q16, as tml_audio_log."""
        e = np.asarray(energy, dtype=np.uint64)
        l2 = log2_q16(np.maximum(e, 1)).reshape(e.shape)
        return (l2 >> 16) * _LN2_Q16 + (((l2 & 0xFFFF) * _LN2_Q16) >> 16)

    def log_mel(self, x) -> np.ndarray:
        """(..., n_mels) ln(mel energy) in Q16."""
        return self.log(self.mel_energy(x))

    def mfcc(self, x) -> np.ndarray:
        """(..., n_mfcc) unnormalised DCT-II of the log-mel, Q16."""
        if not self.n_mfcc:
            raise ValueError("this AudioFeatures has n_mfcc=0: give n_mfcc to get MFCCs")
        lm = self.log_mel(x)
        return (lm @ self.dct.T) >> 15
