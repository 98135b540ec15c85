"""tinyml.learn on the unix MicroPython firmware, against scikit-learn.

Embeddings are generated here (float32: clusters, values on an int8 grid
as a model's dequantised embedding, queries close to the boundary between
two classes and far outside what was added, so both the fixed-point path
and the float fallback of predict() answer); the classifiers run under
MicroPython, and scikit-learn's NearestCentroid / KNeighborsClassifier on
the same float32 embeddings is the oracle."""

import json
import os
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def micropython():
    p = Path(os.environ.get("TINYML_MICROPYTHON") or REPO / "build" / "unix" / "micropython")
    if not p.exists():
        pytest.skip(f"{p} not built (make firmware BOARD=unix)")
    return p


def run_mp(script: str, tmp_path, timeout=120):
    path = tmp_path / "script.py"
    path.write_text(script)
    res = subprocess.run([str(micropython()), "-X", "heapsize=16M", str(path)], capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "MICROPYPATH": str(REPO / "python_lib")}, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


RUNNER = """
import json
from array import array
import tinyml.learn
from tinyml.learn import NearestCentroid, KNeighbors
with open("case.json") as f:
    case = json.load(f)
# False: the path of a port without viper (qemu_m0's firmware)
tinyml.learn._fast = case["fast"]
out = {}
for name, clf in (("nc", NearestCentroid()), ("kn", KNeighbors(case["k"]))):
    for e, lab in zip(case["train"], case["labels"]):
        clf.add(array("f", e), lab)
    res = []
    for q in case["queries"]:
        x = array("f", q)
        r = {"predict": clf.predict(x), "list": clf.predict(list(x)), "scores": list(clf.scores(x))}
        if name == "kn":
            r["kneighbors"] = clf.kneighbors(x)
        res.append(r)
    clf.save(name + ".bin")
    again = type(clf).load(name + ".bin")
    out[name] = {"labels": list(clf.labels), "res": res,
                 "reloaded": [again.predict(array("f", q)) for q in case["queries"]],
                 "rescores": [list(again.scores(array("f", q))) for q in case["queries"]]}
print(json.dumps(out))
"""


def make_case(seed):
    rng = np.random.default_rng(seed)
    dim = int(rng.choice([1, 3, 8, 16, 40]))
    nlab = int(rng.integers(2, 6))
    per = int(rng.integers(1, 7))
    k = int(rng.integers(1, 6))
    grid = seed % 2 == 0
    centers = rng.standard_normal((nlab, dim)) * rng.uniform(0.5, 5)
    train, labels = [], []
    for c in range(nlab):
        for _ in range(per):
            train.append(centers[c] + rng.standard_normal(dim) * rng.uniform(0.2, 1.5))
            labels.append(f"class{c}")
    order = rng.permutation(len(train))  # examples arrive mixed; labels first seen in sorted order
    train = np.array(train)[order]
    labels = [labels[i] for i in order]
    first = sorted(set(labels), key=labels.index)
    rename = {old: f"class{i}" for i, old in enumerate(first)}
    labels = [rename[lab] for lab in labels]
    queries = [centers[c] + rng.standard_normal(dim) * 1.0 for c in rng.integers(0, nlab, 30)]
    means = np.array([train[[lab == f"class{c}" for lab in labels]].mean(0) for c in range(nlab)])
    for _ in range(10):  # just off the midpoint of two centroids
        a, b = rng.choice(nlab, 2, replace=False)
        t = 0.5 + rng.choice([-1, 1]) * 1e-3
        queries.append(means[a] * t + means[b] * (1 - t))
    queries.append(means[0] * 50)  # beyond the fixed-point range
    queries = np.array(queries)
    if grid:  # a dequantised int8 embedding: scale * (q - zero_point)
        scale, zp = rng.uniform(0.01, 0.2), int(rng.integers(-128, 0))
        train = scale * (np.clip(np.round(train / scale) + zp, -128, 127) - zp)
        queries[:40] = scale * (np.clip(np.round(queries[:40] / scale) + zp, -128, 127) - zp)
    return (train.astype(np.float32), labels, queries.astype(np.float32), k)


# One example per class leaves scikit-learn's NearestCentroid a 0/0 in a
# spread it computes but predict() does not use.
@pytest.mark.filterwarnings("ignore:invalid value encountered in divide")
@pytest.mark.parametrize("seed,fast", [(s, True) for s in range(12)] + [(s, False) for s in range(4)])
def test_against_sklearn(seed, fast, tmp_path):
    from sklearn.neighbors import KNeighborsClassifier, NearestCentroid

    train, labels, queries, k = make_case(seed)
    (tmp_path / "case.json").write_text(json.dumps({
        "train": train.tolist(), "labels": labels, "queries": queries.tolist(), "k": k, "fast": fast}))
    got = json.loads(run_mp(RUNNER, tmp_path))
    classes = sorted(set(labels))
    assert got["nc"]["labels"] == got["kn"]["labels"] == classes

    nc = NearestCentroid().fit(train.astype(np.float64), labels)
    want = nc.predict(queries.astype(np.float64))
    d2 = ((queries[:, None, :].astype(np.float64) - nc.centroids_[None]) ** 2).sum(-1)
    scale = max(1.0, float(np.abs(d2).max()))
    for i, r in enumerate(got["nc"]["res"]):
        assert r["predict"] == r["list"] == want[i], f"query {i}"
        np.testing.assert_allclose(r["scores"], -d2[i], rtol=1e-5, atol=1e-6 * scale)
    assert got["nc"]["reloaded"] == list(want)
    assert got["nc"]["rescores"] == [r["scores"] for r in got["nc"]["res"]]

    kn = KNeighborsClassifier(n_neighbors=min(k, len(train)), algorithm="brute").fit(train.astype(np.float64), labels)
    want = kn.predict(queries.astype(np.float64))
    dist, idx = kn.kneighbors(queries.astype(np.float64))
    proba = kn.predict_proba(queries.astype(np.float64))
    for i, r in enumerate(got["kn"]["res"]):
        assert r["predict"] == r["list"] == want[i], f"query {i}"
        got_d, got_i = r["kneighbors"]
        assert sorted(got_i) == sorted(idx[i].tolist())
        np.testing.assert_allclose(got_d, dist[i], rtol=1e-5, atol=1e-6 * float(dist[i].max() + 1))
        np.testing.assert_allclose(r["scores"], proba[i], atol=1e-6)
    assert got["kn"]["reloaded"] == list(want)


def test_predict_allocates_nothing(tmp_path):
    out = run_mp("""
import gc, random
from array import array
from tinyml.learn import NearestCentroid, KNeighbors
random.seed(3)
def alloc(f, x):
    f(x)
    gc.collect()
    a = gc.mem_alloc()
    for _ in range(50):
        f(x)
    return gc.mem_alloc() - a
for clf in (NearestCentroid(), KNeighbors(3)):
    for i in range(40):
        clf.add(array("f", [(i % 4) + random.random() for _ in range(16)]), "c%d" % (i % 4))
    x = array("f", [1.3] * 16)
    print(alloc(clf.predict, x), alloc(clf.predict, [2.4] * 16))
""", tmp_path)
    assert out.split() == ["0"] * 4


CORRUPT = """
import os
from array import array
from tinyml.learn import NearestCentroid, KNeighbors
for cls, path in ((NearestCentroid, "nc.bin"), (KNeighbors, "kn.bin")):
    with open(path, "rb") as f:
        data = f.read()
    seen = set()
    for cut in range(len(data)):
        with open("t.bin", "wb") as f:
            f.write(data[:cut])
        try:
            cls.load("t.bin")
            print("loaded", cut)
        except ValueError as e:
            seen.add(str(e).split(":")[1].strip() == "t.bin")
    for pos in range(0, len(data), 3):
        b = bytearray(data)
        b[pos] ^= 0x41
        with open("t.bin", "wb") as f:
            f.write(b)
        try:
            cls.load("t.bin")
            print("loaded flipped", pos)
        except ValueError as e:
            seen.add(str(e).split(":")[1].strip() == "t.bin")
    print(seen)
try:
    NearestCentroid.load("kn.bin")
except ValueError as e:
    print(e)
"""


def test_save_load_corrupt_and_part_files(tmp_path):
    run_mp("""
from array import array
from tinyml.learn import NearestCentroid, KNeighbors
for clf, path in ((NearestCentroid(), "nc.bin"), (KNeighbors(2), "kn.bin")):
    for i in range(6):
        clf.add(array("f", [i * 0.5, -i, 3.0]), ("up", "down")[i % 2])
    clf.save(path)
""", tmp_path)
    for name in ("nc.bin", "kn.bin"):
        data = (tmp_path / name).read_bytes()
        assert data[:4] == b"TMLL"
        assert int.from_bytes(data[-4:], "little") == zlib.adler32(data[:-4])
    out = run_mp(CORRUPT, tmp_path, timeout=300).splitlines()
    assert out == ["{True}", "{True}",
                   "tinyml.learn: kn.bin: holds a KNeighbors, not a NearestCentroid"]

    # A save that died before its rename leaves name.part: load() reads the
    # good file, and the next save() replaces both.
    good = (tmp_path / "nc.bin").read_bytes()
    (tmp_path / "nc.bin.part").write_bytes(good[:10])
    out = run_mp("""
from array import array
from tinyml.learn import NearestCentroid
c = NearestCentroid.load("nc.bin")
print(c.labels, c.predict(array("f", [2.5, -5, 3.0])))
c.add(array("f", [9.0, 9.0, 9.0]), "new")
c.save("nc.bin")
print(NearestCentroid.load("nc.bin").labels)
""", tmp_path).splitlines()
    assert out == ["('up', 'down') down", "('up', 'down', 'new')"]
    assert not (tmp_path / "nc.bin.part").exists()


def test_bad_arguments_are_named(tmp_path):
    out = run_mp("""
from tinyml.learn import NearestCentroid, KNeighbors
def show(f, *a):
    try:
        f(*a)
        print("no error")
    except Exception as e:
        print(type(e).__name__, e)
c = NearestCentroid()
show(c.predict, [1.0, 2.0])
c.add([1.0, 2.0], "a")
show(c.add, [1.0, 2.0, 3.0], "a")
show(c.predict, [1.0])
show(c.add, [1.0, 2.0], 7)
show(c.add, [float("nan"), 2.0], "a")
show(KNeighbors, 0)
show(NearestCentroid.load, "missing.bin")
""", tmp_path).splitlines()
    assert out[:6] == [
        "ValueError tinyml.learn: add() examples before predict()",
        "ValueError tinyml.learn: embedding has 3 values, the classifier was given 2",
        "ValueError tinyml.learn: embedding has 1 values, the classifier was given 2",
        "TypeError tinyml.learn: a label is a str, got 7",
        "ValueError tinyml.learn: the embedding holds a value that is not finite",
        "ValueError tinyml.learn: k must be 1..255, got 0"]
    assert out[6].startswith("OSError")  # a missing file is the OS's error, as open() says
