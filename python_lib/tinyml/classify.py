"""Turning model outputs into decisions.

    from tinyml.classify import top_k, Debounce
    print(top_k(scores, 3, m.labels))     # [('wave', 0.91), ('tap', 0.05), ('idle', 0.03)]
    d = Debounce(threshold=0.8, count=3)
    event = d.update(scores)              # a class index once per gesture, else None
"""


def argmax(scores):
    """Index of the largest score (the first one on a tie)."""
    best = 0
    for i in range(1, len(scores)):
        if scores[i] > scores[best]:
            best = i
    return best


def top_k(scores, k=3, labels=None):
    """The k best (label, score) pairs, best first; the class index stands
    in for the label when labels is None."""
    if labels is not None and len(labels) != len(scores):
        raise ValueError("top_k: %d labels for %d scores: pass the model's labels (m.labels)"
                         % (len(labels), len(scores)))
    order = sorted(range(len(scores)), key=lambda i: -scores[i])[:k]
    return [(labels[i] if labels is not None else i, scores[i]) for i in order]


class Smooth:
    """Moving average of the last n score vectors (fixed memory)."""

    def __init__(self, n=3):
        if n <= 0:
            raise ValueError("Smooth: n must be positive, got %r" % (n,))
        self.n = n
        self._hist = None
        self._pos = 0
        self._filled = 0
        self.out = None

    def update(self, scores):
        """Add one score vector; returns the average of the last n (a list reused between calls)."""
        k = len(scores)
        if self._hist is None or len(self.out) != k:
            self._hist = [[0.0] * k for _ in range(self.n)]
            self.out = [0.0] * k
            self._filled = 0
        row = self._hist[self._pos]
        for i in range(k):
            row[i] = scores[i]
        self._pos = (self._pos + 1) % self.n
        if self._filled < self.n:
            self._filled += 1
        for i in range(k):
            s = 0.0
            for j in range(self._filled):
                s += self._hist[(self._pos - 1 - j) % self.n][i]
            self.out[i] = s / self._filled
        return self.out


class Debounce:
    """Fire once per event: a class must win with at least `threshold` for
    `count` predictions in a row; then it stays quiet until that class has
    lost for `release` predictions in a row (or another class fires).
    `ignore` is a class index (e.g. 'idle') that never fires."""

    def __init__(self, threshold=0.6, count=3, release=2, ignore=None):
        self.threshold = threshold
        self.count = count
        self.release = release
        self.ignore = ignore
        self._cand = None
        self._run = 0
        self._fired = None
        self._lost = 0

    def update(self, scores):
        """Feed one prediction; returns the class index when an event fires, else None."""
        best = argmax(scores)
        winner = best if scores[best] >= self.threshold and best != self.ignore else None
        if self._fired is not None:
            if winner == self._fired:
                self._lost = 0
                return None
            self._lost += 1
            if self._lost < self.release and winner is None:
                return None
            self._fired = None
        if winner is None:
            self._cand, self._run = None, 0
            return None
        if winner == self._cand:
            self._run += 1
        else:
            self._cand, self._run = winner, 1
        if self._run >= self.count:
            self._fired, self._lost = winner, 0
            self._cand, self._run = None, 0
            return winner
        return None
