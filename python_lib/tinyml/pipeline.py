"""From sensor samples to predictions, one sample at a time.

    from tinyml.pipeline import Window, Normalize, Pipeline
    p = Pipeline(Window(size=64, hop=16, channels=3), Normalize.from_model(m), model=m)
    for sample in imu_samples():        # tuples (x, y, z) or raw int16 readings
        r = p.push(sample)              # None until a window is full, then the prediction
        if r is not None:
            print(m.labels[argmax(r)])

Every stage allocates its buffers once, when it is created; pushing a
sample allocates nothing but the model's own output. Each stage is a
callable: stage(x) returns its output, or None to stop the pipeline here
for now. The PC side (tinyml_converter.features) cuts and transforms data
the same way, so a model trained there sees the same numbers.
"""

from array import array


def _buffer(typecode, n):
    return array(typecode, bytes(n * (2 if typecode == "h" else 4)))


class Window:
    """Sliding window over a stream of samples, a ring buffer inside.

    size: samples per window; hop: samples between windows (default size:
    no overlap; hop < size overlaps); channels: values per sample.
    typecode 'f' keeps floats, 'h' keeps raw int16 readings (half the RAM;
    what Spectrogram and MFCC take). The first window is emitted when `size`
    samples have arrived, then one every `hop` samples. A window is the
    samples oldest first, channels interleaved (size x channels, the layout
    a Conv1D model wants). The same array is reused for every window: copy
    it if you keep it."""

    def __init__(self, size, hop=None, channels=1, typecode="f"):
        if size <= 0 or (hop is not None and hop <= 0) or channels <= 0:
            raise ValueError("Window: size, hop and channels must be positive, got %r, %r, %r"
                             % (size, hop, channels))
        if typecode not in ("f", "h"):
            raise ValueError("Window: typecode is 'f' (floats) or 'h' (int16 readings), got %r" % (typecode,))
        self.size = size
        self.hop = hop or size
        self.channels = channels
        self.typecode = typecode
        self._ring = _buffer(typecode, size * channels)
        self.out = _buffer(typecode, size * channels)
        self._pos = 0
        self._count = 0
        self._next = size

    def reset(self):
        """Forget the samples seen so far."""
        self._pos = 0
        self._count = 0
        self._next = self.size

    def push(self, sample):
        """Add one sample (a number, or a sequence of `channels` numbers).
        Returns the window when one is complete, else None."""
        ring = self._ring
        c = self.channels
        base = self._pos * c
        if c == 1 and isinstance(sample, (int, float)):
            ring[base] = sample
        else:
            if len(sample) != c:
                raise ValueError("Window: a sample has %d channels, got %d values" % (c, len(sample)))
            for i in range(c):
                ring[base + i] = sample[i]
        self._pos += 1
        if self._pos == self.size:
            self._pos = 0
        self._count += 1
        if self._count < self._next:
            return None
        self._next += self.hop
        # Keep the counters small: only their difference matters.
        if self._count > 0x100000:
            self._next -= self._count - self.size
            self._count = self.size
        out = self.out
        split = self._pos * c
        n = self.size * c
        k = 0
        for i in range(split, n):
            out[k] = ring[i]
            k += 1
        for i in range(split):
            out[k] = ring[i]
            k += 1
        return out

    __call__ = push

    def feed(self, readings):
        """Push every sample of a flat buffer of interleaved readings (e.g.
        an array('h') from an I2S or ADC read); yields each complete window."""
        c = self.channels
        if len(readings) % c:
            raise ValueError("Window.feed: %d readings is not a whole number of %d-channel samples"
                             % (len(readings), c))
        if c == 1:
            for v in readings:
                w = self.push(v)
                if w is not None:
                    yield w
        else:
            sample = [0] * c
            for i in range(0, len(readings), c):
                for j in range(c):
                    sample[j] = readings[i + j]
                w = self.push(sample)
                if w is not None:
                    yield w


class Normalize:
    """(x - mean) / std, or (x - min) / (max - min), per channel.

    mean/std (or min/max) are numbers or one value per channel; channels
    are interleaved, channel = index % channels. Normalize.from_model(m)
    takes them from the model file (tinyml convert --normalize)."""

    def __init__(self, mean=None, std=None, min=None, max=None):
        if mean is not None and std is not None:
            offset, scale = mean, std
        elif min is not None and max is not None:
            offset = min
            scale = [b - a for a, b in zip(_seq(min), _seq(max))] if _is_seq(min) or _is_seq(max) else max - min
        else:
            raise ValueError("Normalize: give mean and std, or min and max")
        self.offset = tuple(_seq(offset))
        scale = tuple(_seq(scale))
        for s in scale:
            if s == 0:
                raise ValueError("Normalize: std (or max - min) is 0 for a channel: nothing to divide by")
        self.inv = tuple(1.0 / s for s in scale)
        if len(self.offset) != len(self.inv):
            raise ValueError("Normalize: %d offsets but %d scales" % (len(self.offset), len(self.inv)))
        self.out = None

    @classmethod
    def from_model(cls, model):
        """The normalisation stored in the model file; ValueError if there is none."""
        norm = model.normalize
        if norm is None:
            raise ValueError("Normalize.from_model: this model has no normalisation stored: convert it with "
                             "tinyml convert --normalize MEAN,...:STD,... or pass Normalize(mean, std)")
        return cls(mean=norm[0], std=norm[1])

    def __call__(self, x):
        n = len(x)
        out = self.out
        if out is None or len(out) != n:
            out = self.out = array("f", bytes(4 * n))
        offset, inv = self.offset, self.inv
        c = len(offset)
        if n % c:
            raise ValueError("Normalize: %d values is not a multiple of the %d channels" % (n, c))
        if c == 1:
            o, s = offset[0], inv[0]
            for i in range(n):
                out[i] = (x[i] - o) * s
        else:
            for i in range(n):
                j = i % c
                out[i] = (x[i] - offset[j]) * inv[j]
        return out


def _is_seq(v):
    return not isinstance(v, (int, float))


def _seq(v):
    return v if _is_seq(v) else (v,)


class _Audio:
    def __init__(self, fft_size, sample_rate, n_mels, n_mfcc, fmin, fmax, count):
        from _tinyml import AudioFeatures

        self.features = AudioFeatures(fft_size, sample_rate, n_mels, fmin, fmax, n_mfcc)
        self.fft_size = fft_size
        self.raw = array("i", bytes(4 * count))
        self.out = array("f", bytes(4 * count))

    def _frame(self, x):
        if not (isinstance(x, array) and len(x) == self.fft_size):
            raise ValueError("a frame is array('h') of %d samples: use Window(size=%d, typecode='h')"
                             % (self.fft_size, self.fft_size))
        return x

    def _scaled(self, scale):
        raw, out = self.raw, self.out
        for i in range(len(raw)):
            out[i] = raw[i] * scale
        return out


class Spectrogram(_Audio):
    """One frame (array('h') of fft_size samples) to one spectrum column:
    the Hann-windowed FFT magnitude (n_mels=0, fft_size/2+1 values) or the
    log-mel energies (n_mels > 0, natural log). Exactly
    tinyml_converter.features.AudioFeatures on the PC."""

    def __init__(self, fft_size, sample_rate, n_mels=0, fmin=0, fmax=0):
        _Audio.__init__(self, fft_size, sample_rate, n_mels, 0, fmin, fmax,
                        n_mels if n_mels else fft_size // 2 + 1)
        self.n_mels = n_mels

    def __call__(self, frame):
        if self.n_mels:
            self.features.log_mel(self._frame(frame), self.raw)
            return self._scaled(1 / 65536)
        self.features.magnitude(self._frame(frame), self.raw)
        return self._scaled(1)


class MFCC(_Audio):
    """One frame (array('h') of fft_size samples) to n_mfcc cepstral
    coefficients (floats), as tinyml_converter.features.AudioFeatures.mfcc / 65536."""

    def __init__(self, fft_size, sample_rate, n_mels=32, n_mfcc=13, fmin=0, fmax=0):
        _Audio.__init__(self, fft_size, sample_rate, n_mels, n_mfcc, fmin, fmax, n_mfcc)

    def __call__(self, frame):
        self.features.mfcc(self._frame(frame), self.raw)
        return self._scaled(1 / 65536)


class Pipeline:
    """Stages run in order on every pushed sample; a stage returning None
    ends that push. With model=..., a complete window is passed to
    model.predict() and push() returns the prediction."""

    def __init__(self, *stages, model=None):
        if not stages and model is None:
            raise ValueError("Pipeline: give at least one stage or a model")
        self.stages = stages
        self.model = model

    def push(self, sample):
        x = sample
        for stage in self.stages:
            x = stage(x)
            if x is None:
                return None
        if self.model is not None:
            return self.model.predict(x)
        return x

    __call__ = push

    def reset(self):
        """Empty every Window in the pipeline (e.g. between two recordings)."""
        for stage in self.stages:
            if isinstance(stage, Window):
                stage.reset()

    def feed(self, readings):
        """push() each sample of a flat buffer (see Window.feed: the first stage
        must be a Window); yields every result that is not None."""
        first = self.stages[0]
        if not isinstance(first, Window):
            raise ValueError("Pipeline.feed needs a Window as its first stage")
        rest = Pipeline(*self.stages[1:], model=self.model) if (len(self.stages) > 1 or self.model) else None
        for w in first.feed(readings):
            r = rest.push(w) if rest is not None else w
            if r is not None:
                yield r
