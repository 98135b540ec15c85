"""Learn new classes on the board from a model's embeddings.

    import tinyml
    from tinyml.learn import NearestCentroid

    m = tinyml.load("gestures.tinyml")     # converted with --embedding LAYER
    clf = NearestCentroid()
    for window in five_circle_windows:
        clf.add(m.embed(window), "circle")
    ...
    print(clf.predict(m.embed(window)))
    clf.save("classes.bin")                 # NearestCentroid.load("classes.bin") after a reset

An embedding is an array('f') (what Model.embed() returns) or a list or
tuple of floats, always of the same length (an array of another type code
would be read as float32 bits: pass list(a) instead). Labels are strings.

Why predict() is written the way it is: MicroPython makes a heap object of
every float a computation produces, so a float loop over a 16-value
embedding would allocate hundreds of bytes per call and bring the garbage
collector into a sensor loop. predict() instead reads the float32 bits of
the embedding in viper code, turns them into fixed-point integers (a step
of 2**-shift, the shift chosen from the largest value added so far so that
no integer sum can overflow 32 bits) and compares integer squared
distances, which allocates nothing. The fixed-point rounding is bounded, so
predict() knows when two candidates are too close for it to tell apart;
then, when an embedding is larger than anything added, and on a port
without viper, it decides with float arithmetic as scores() does (that
call allocates). Either way the
answer is the one float arithmetic gives. Ties go to the label added
first (scikit-learn picks the smallest label; the same when labels are
added in sorted order).
"""

import os
import struct
from array import array

import micropython  # noqa: F401 - the decorators in _FAST_SOURCE need the name

_MAGIC = b"TMLL"
_VERSION = 1
_KIND_CENTROID = 1
_KIND_NEIGHBORS = 2
_HEADER = "<4sBBHHHI"   # magic, version, kind, dim, labels, k, items
_MAX_DIM = 4096


# The integer kernels of predict(), compiled when the module is imported:
# a port without the native emitter (the Cortex-M0 qemu board's firmware)
# refuses @micropython.viper with a SyntaxError, and then predict() decides
# with float arithmetic alone (right, but it allocates). Kept as source
# text so that freezing the package never needs the emitter either.
_FAST_SOURCE = """
@micropython.viper
def _to_fixed(src: ptr32, dst: ptr32, p: ptr32) -> int:
    '''dst[i] = round(src[i] * 2**shift) + limit from the float32 bits of
    src (p: dim, 150 - shift, limit); returns 1 when a value is beyond
    +-limit or not finite (dst is then unusable).'''
    n = p[0]
    base = p[1]
    lim = p[2]
    bad = 0
    i = 0
    while i < n:
        b = src[i]
        e = (b >> 23) & 0xFF
        r = 0
        if e == 0xFF:
            bad = 1
        elif e != 0:
            sh = base - e
            if sh <= 0:
                bad = 1
            elif sh < 25:
                m = (b & 0x7FFFFF) | 0x800000
                r = (m + (1 << (sh - 1))) >> sh
                if r > lim:
                    bad = 1
                    r = lim
                if (b >> 31) & 1:
                    r = 0 - r
        # Stored offset by +limit: ptr32 loads zero-extend on 64-bit ports.
        dst[i] = r + lim
        i += 1
    return bad


@micropython.viper
def _nearest_centroid(q: ptr32, cent: ptr32, out: ptr32, p: ptr32) -> int:
    '''Index of the centroid nearest q, or -1 when another one is within the
    rounding bound (out: distance and bound per label; p: dim, _, _, labels).'''
    dim = p[0]
    nlab = p[3]
    best = 0
    bestd = -1
    c = 0
    while c < nlab:
        acc = 0
        l1 = 0
        base = c * dim
        d = 0
        while d < dim:
            a = q[d] - cent[base + d]
            acc += a * a
            if a < 0:
                l1 -= a
            else:
                l1 += a
            d += 1
        out[2 * c] = acc
        # |fixed - exact| <= 2 * L1 + 3 * dim: each of the two values is
        # off by at most half a step.
        out[2 * c + 1] = 2 * l1 + 3 * dim
        if bestd < 0 or acc < bestd:
            best = c
            bestd = acc
        c += 1
    reach = bestd + out[2 * best + 1]
    c = 0
    while c < nlab:
        if c != best and out[2 * c] - out[2 * c + 1] <= reach:
            return -1
        c += 1
    return best


@micropython.viper
def _k_nearest(q: ptr32, samples: ptr32, w: ptr32, p: ptr32) -> int:
    '''Label index most frequent among the k samples nearest q, or -1 when
    the rounding bound leaves the k nearest in doubt. w holds per sample its
    label index, then distance, bound, then k chosen indices, then votes
    per label; p: dim, _, _, labels, samples, k.'''
    dim = p[0]
    nlab = p[3]
    n = p[4]
    k = p[5]
    dist = n
    bound = 2 * n
    chosen = 3 * n
    votes = 3 * n + k
    i = 0
    while i < n:
        acc = 0
        l1 = 0
        base = i * dim
        d = 0
        while d < dim:
            a = q[d] - samples[base + d]
            acc += a * a
            if a < 0:
                l1 -= a
            else:
                l1 += a
            d += 1
        w[dist + i] = acc
        w[bound + i] = 2 * l1 + 3 * dim
        i += 1
    reach = 0
    j = 0
    while j < k:
        pick = -1
        pd = 0
        i = 0
        while i < n:
            taken = 0
            t = 0
            while t < j:
                if w[chosen + t] == i:
                    taken = 1
                t += 1
            if taken == 0 and (pick < 0 or w[dist + i] < pd):
                pick = i
                pd = w[dist + i]
            i += 1
        w[chosen + j] = pick
        if pd + w[bound + pick] > reach:
            reach = pd + w[bound + pick]
        j += 1
    i = 0
    while i < n:
        taken = 0
        t = 0
        while t < k:
            if w[chosen + t] == i:
                taken = 1
            t += 1
        if taken == 0 and w[dist + i] - w[bound + i] <= reach:
            return -1
        i += 1
    c = 0
    while c < nlab:
        w[votes + c] = 0
        c += 1
    t = 0
    while t < k:
        c = w[w[chosen + t]]
        w[votes + c] = w[votes + c] + 1
        t += 1
    best = 0
    c = 1
    while c < nlab:
        if w[votes + c] > w[votes + best]:
            best = c
        c += 1
    return best
"""

try:
    exec(_FAST_SOURCE, globals())
    _fast = True
except Exception:  # no emitter (SyntaxError), no exec() in the build, no RAM to compile
    _fast = False


def _adler32(data):
    a, b = 1, 0
    for byte in data:
        a = (a + byte) % 65521
        b = (b + a) % 65521
    return (b << 16) | a


class _Learner:
    _kind = 0

    def __init__(self):
        self._labels = []
        self._dim = 0
        self._max = 0.0
        self._p = array("i", [0] * 6)

    @property
    def labels(self):
        """The labels known so far, in the order they were first added:
        the order of scores()."""
        return tuple(self._labels)

    def _start(self, dim):
        if not 0 < dim <= _MAX_DIM:
            raise ValueError("tinyml.learn: an embedding needs 1..%d values, got %d" % (_MAX_DIM, dim))
        self._dim = dim
        self._x = array("f", bytes(4 * dim))
        self._q = array("i", bytes(4 * dim))
        # The largest offset value such that dim * (2 * limit)**2 < 2**30.
        lim = int(((1 << 28) / dim) ** 0.5)
        while dim * 4 * lim * lim >= 1 << 30:
            lim -= 1
        self._p[0] = dim
        self._p[2] = lim

    def _check(self, embedding):
        n = len(embedding)
        if n != self._dim:
            raise ValueError("tinyml.learn: embedding has %d values, the classifier was given %d"
                             % (n, self._dim))

    def _floats(self, embedding):
        """The embedding as an array('f'), copied into a buffer made once
        unless it is one already (floats already made are stored without
        making new ones)."""
        if isinstance(embedding, array):
            return embedding
        x = self._x
        for i in range(self._dim):
            x[i] = embedding[i]
        return x

    def _fit_shift(self, values):
        """Widen the fixed-point range when `values` go past it; True when
        the shift changed (every stored fixed value must be remade)."""
        big = self._max
        for v in values:
            a = v if v >= 0 else -v
            if not a < float("inf"):  # NaN fails every comparison
                raise ValueError("tinyml.learn: the embedding holds a value that is not finite")
            if a > big:
                big = a
        if big <= self._max and self._p[1]:
            return False
        self._max = big
        lim = self._p[2]
        shift = 0
        if big > 0:
            while big * 2.0 ** shift > lim:
                shift -= 1
            while big * 2.0 ** (shift + 1) <= lim:
                shift += 1
        new = 150 - shift
        changed = new != self._p[1]
        self._p[1] = new
        return changed

    def _fixed(self, v):
        return int(round(v * 2.0 ** (150 - self._p[1]))) + self._p[2]

    def _label_index(self, label):
        if not isinstance(label, str):
            raise TypeError("tinyml.learn: a label is a str, got %r" % (label,))
        if "\n" in label or len(label.encode()) > 255:
            raise ValueError("tinyml.learn: a label is one line of at most 255 bytes")
        try:
            return self._labels.index(label)
        except ValueError:
            self._labels.append(label)
            return len(self._labels) - 1

    def _need_labels(self):
        if not self._labels:
            raise ValueError("tinyml.learn: add() examples before predict()")

    # -- files ---------------------------------------------------------------

    def save(self, path):
        """Write the classifier to `path`: first to path + '.part', then
        renamed over `path`, so a reset halfway leaves the old file whole."""
        body = bytearray(struct.pack(_HEADER, _MAGIC, _VERSION, self._kind, self._dim,
                                     len(self._labels), self._k_value(), self._items()))
        for label in self._labels:
            raw = label.encode()
            body += bytes((len(raw),)) + raw
        body += self._payload()
        body += struct.pack("<I", _adler32(body))
        part = path + ".part"
        with open(part, "wb") as f:
            f.write(body)
        os.rename(part, path)

    @classmethod
    def load(cls, path):
        """The classifier save() wrote to `path`; ValueError naming the file
        when it is not one, is damaged or was cut short."""
        with open(path, "rb") as f:
            data = f.read()
        size = struct.calcsize(_HEADER)

        def bad(why):
            return ValueError("tinyml.learn: %s: %s" % (path, why))

        if len(data) < size + 4:
            raise bad("too short for a saved classifier (%d bytes)" % len(data))
        magic, version, kind, dim, nlab, k, items = struct.unpack_from(_HEADER, data, 0)
        if magic != _MAGIC:
            raise bad("not a saved tinyml.learn classifier")
        if version != _VERSION:
            raise bad("saved by format version %d, this tinyml reads %d" % (version, _VERSION))
        if struct.unpack_from("<I", data, len(data) - 4)[0] != _adler32(memoryview(data)[:len(data) - 4]):
            raise bad("checksum mismatch: the file is damaged or was cut short")
        if kind != cls._kind:
            raise bad("holds a %s, not a %s" % (_KIND_NAMES.get(kind, "kind %d" % kind), cls.__name__))
        if not 0 < dim <= _MAX_DIM or nlab == 0 or (kind == _KIND_NEIGHBORS and not 1 <= k <= 255):
            raise bad("inconsistent header (%d values, %d labels, k %d)" % (dim, nlab, k))
        obj = cls._blank(k)
        obj._start(dim)
        pos = size
        try:
            for _ in range(nlab):
                n = data[pos]
                label = str(data[pos + 1:pos + 1 + n], "utf-8")
                if len(label.encode()) != n or label in obj._labels:
                    raise bad("bad label table")
                obj._labels.append(label)
                pos += 1 + n
        except IndexError:
            raise bad("bad label table") from None
        obj._read_payload(data, pos, len(data) - 4, items, bad)
        return obj


_KIND_NAMES = {_KIND_CENTROID: "NearestCentroid", _KIND_NEIGHBORS: "KNeighbors"}


class NearestCentroid(_Learner):
    """Each label is the mean of its examples; predict() names the label
    whose mean is nearest (squared Euclidean distance), as scikit-learn's
    NearestCentroid does."""

    _kind = _KIND_CENTROID

    def __init__(self):
        super().__init__()
        self._counts = array("i")
        self._sums = array("d")
        self._cent = array("i")
        self._out = array("i")

    @classmethod
    def _blank(cls, k):
        return cls()

    def _k_value(self):
        return 0

    def _items(self):
        return len(self._labels)

    def add(self, embedding, label):
        """Add one example of `label` (a new label or a known one)."""
        if not self._dim:
            self._start(len(embedding))
        self._check(embedding)
        x = [float(v) for v in embedding]
        changed = self._fit_shift(x)
        c = self._label_index(label)
        dim = self._dim
        if c == len(self._counts):
            self._counts.append(0)
            self._sums.extend(array("d", bytes(8 * dim)))
            self._cent.extend(array("i", bytes(4 * dim)))
            self._out.extend(array("i", [0, 0]))
            self._p[3] = len(self._counts)
        base = c * dim
        sums = self._sums
        for d in range(dim):
            sums[base + d] += x[d]
        self._counts[c] += 1
        for lab in range(len(self._counts)) if changed else (c,):
            self._remake(lab)

    def _remake(self, c):
        dim, n = self._dim, self._counts[c]
        for d in range(dim):
            self._cent[c * dim + d] = self._fixed(self._sums[c * dim + d] / n)

    def predict(self, embedding):
        """The label whose centroid is nearest the embedding. Allocates
        nothing unless the embedding is out of the range seen in add() or two
        centroids are within the fixed-point rounding of each other."""
        self._need_labels()
        self._check(embedding)
        x = self._floats(embedding)
        if _fast and not _to_fixed(x, self._q, self._p):
            c = _nearest_centroid(self._q, self._cent, self._out, self._p)
            if c >= 0:
                return self._labels[c]
        return self._labels[self._best(self.scores(x))]

    @staticmethod
    def _best(scores):
        best = 0
        for c in range(1, len(scores)):
            if scores[c] > scores[best]:
                best = c
        return best

    def scores(self, embedding):
        """array('f'): for each label, in the order of `labels`, minus the
        squared Euclidean distance from the embedding to its centroid
        (float arithmetic; this call allocates)."""
        self._need_labels()
        self._check(embedding)
        dim = self._dim
        x = [float(v) for v in embedding]
        out = array("f", bytes(4 * len(self._labels)))
        for c in range(len(self._labels)):
            n = self._counts[c]
            s = 0.0
            for d in range(dim):
                diff = x[d] - self._sums[c * dim + d] / n
                s += diff * diff
            out[c] = -s
        return out

    def _payload(self):
        out = bytearray()
        for c in range(len(self._labels)):
            out += struct.pack("<I", self._counts[c])
            out += bytes(self._sums[c * self._dim:(c + 1) * self._dim])
        return out

    def _read_payload(self, data, pos, end, items, bad):
        dim = self._dim
        if items != len(self._labels) or end - pos != items * (4 + 8 * dim):
            raise bad("sizes do not match the header")
        nlab = len(self._labels)
        self._counts = array("i", [0] * nlab)
        self._sums = array("d", bytes(8 * dim * nlab))
        self._cent = array("i", bytes(4 * dim * nlab))
        self._out = array("i", bytes(8 * nlab))
        for c in range(nlab):
            count = struct.unpack_from("<I", data, pos)[0]
            if count == 0:
                raise bad("label %r has no examples" % self._labels[c])
            self._counts[c] = count
            vals = struct.unpack_from("<%dd" % dim, data, pos + 4)
            for d in range(dim):
                self._sums[c * dim + d] = vals[d]
            pos += 4 + 8 * dim
        self._p[3] = nlab
        means = []
        for c in range(nlab):
            for d in range(dim):
                means.append(self._sums[c * dim + d] / self._counts[c])
        self._fit_shift(means)
        for c in range(nlab):
            self._remake(c)


class KNeighbors(_Learner):
    """Keeps every example; predict() names the label most frequent among
    the k examples nearest the embedding (squared Euclidean distance), as
    scikit-learn's KNeighborsClassifier does with uniform weights. With
    fewer than k examples, all of them vote."""

    _kind = _KIND_NEIGHBORS

    def __init__(self, k=3):
        super().__init__()
        if not 1 <= k <= 255:
            raise ValueError("tinyml.learn: k must be 1..255, got %r" % (k,))
        self.k = k
        self._values = array("f")
        self._owner = array("H")
        self._samples = array("i")
        self._w = array("i")

    @classmethod
    def _blank(cls, k):
        return cls(k)

    def _k_value(self):
        return self.k

    def _items(self):
        return len(self._owner)

    def add(self, embedding, label):
        """Add one example of `label` (a new label or a known one)."""
        if not self._dim:
            self._start(len(embedding))
        self._check(embedding)
        x = [float(v) for v in embedding]
        changed = self._fit_shift(x)
        c = self._label_index(label)
        self._values.extend(array("f", x))
        self._owner.append(c)
        self._samples.extend(array("i", bytes(4 * self._dim)))
        self._grow()
        for i in range(len(self._owner)) if changed else (len(self._owner) - 1,):
            self._remake(i)

    def _grow(self):
        """The work array _k_nearest uses, sized for the examples and labels."""
        n, k, nlab = len(self._owner), min(self.k, len(self._owner)), len(self._labels)
        self._w = array("i", bytes(4 * (3 * n + k + nlab)))
        for i in range(n):
            self._w[i] = self._owner[i]
        self._p[3], self._p[4], self._p[5] = nlab, n, k

    def _remake(self, i):
        dim = self._dim
        for d in range(dim):
            self._samples[i * dim + d] = self._fixed(self._values[i * dim + d])

    def predict(self, embedding):
        """The label most frequent among the k nearest examples. Allocates
        nothing unless the embedding is out of the range seen in add() or
        the k nearest are within the fixed-point rounding of the next."""
        self._need_labels()
        self._check(embedding)
        x = self._floats(embedding)
        if _fast and not _to_fixed(x, self._q, self._p):
            c = _k_nearest(self._q, self._samples, self._w, self._p)
            if c >= 0:
                return self._labels[c]
        votes = self.scores(x)
        best = 0
        for c in range(1, len(votes)):
            if votes[c] > votes[best]:
                best = c
        return self._labels[best]

    def kneighbors(self, embedding):
        """(distances, indices) of the k nearest examples, nearest first:
        Euclidean distances as floats, indices in the order of add()
        (equal distances: the earlier example first). Allocates."""
        self._need_labels()
        self._check(embedding)
        x = [float(v) for v in embedding]
        dim = self._dim
        d2 = []
        for i in range(len(self._owner)):
            s = 0.0
            for d in range(dim):
                diff = x[d] - self._values[i * dim + d]
                s += diff * diff
            d2.append((s, i))
        d2.sort()
        near = d2[:min(self.k, len(d2))]
        return [s ** 0.5 for s, _ in near], [i for _, i in near]

    def scores(self, embedding):
        """array('f'): for each label, in the order of `labels`, the
        fraction of the k nearest examples that have it (as scikit-learn's
        predict_proba). Allocates."""
        _, near = self.kneighbors(embedding)
        out = array("f", bytes(4 * len(self._labels)))
        for i in near:
            out[self._owner[i]] += 1.0 / len(near)
        return out

    def _payload(self):
        out = bytearray()
        dim = self._dim
        for i in range(len(self._owner)):
            out += struct.pack("<H", self._owner[i])
            out += bytes(self._values[i * dim:(i + 1) * dim])
        return out

    def _read_payload(self, data, pos, end, items, bad):
        dim = self._dim
        if items == 0 or end - pos != items * (2 + 4 * dim):
            raise bad("sizes do not match the header")
        nlab = len(self._labels)
        self._owner = array("H", [0] * items)
        self._values = array("f", bytes(4 * dim * items))
        for i in range(items):
            c = struct.unpack_from("<H", data, pos)[0]
            if c >= nlab:
                raise bad("example %d names label %d of %d" % (i, c, nlab))
            self._owner[i] = c
            vals = struct.unpack_from("<%df" % dim, data, pos + 2)
            for d in range(dim):
                self._values[i * dim + d] = vals[d]
            pos += 2 + 4 * dim
        self._samples = array("i", bytes(4 * dim * items))
        self._fit_shift(self._values)
        self._grow()
        for i in range(items):
            self._remake(i)
