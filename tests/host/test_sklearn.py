"""scikit-learn estimators through `tinyml convert` and the host build of the
C core (TREE_ENSEMBLE, LINEAR, SCALE), against scikit-learn itself.

The oracle is sklearn's predict_proba / decision_function / predict on
float64 copies of the float32 rows the blob gets (as a user's NumPy arrays
are; scalers then compute in float64 and trees cast to float32): the class the outputs' argmax picks must be sklearn's
predict on every row, and every value within 1e-6 relative of sklearn's
(plus 1e-9 of the largest value, for values that cancel to near 0). Rows:
generated datasets of several sizes, seeds, feature and class counts, then
adversarial ones for trees: each threshold's float32 neighbours, +-0.0,
huge values, infinities, and NaN where sklearn takes NaN.

Linear models are fitted on float64 data, as sklearn then predicts in
float64; fitted on float32, LogisticRegression keeps float32 coefficients
and computes its probabilities in float32 (test_float32_fitted_logistic).
"""

import ctypes
import struct
import zlib

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn import ensemble, linear_model, naive_bayes, neighbors, svm, tree  # noqa: E402
from sklearn.datasets import make_blobs, make_classification, make_regression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler  # noqa: E402

from tinyml_converter import blob_layout as bl  # noqa: E402
from tinyml_converter import cli  # noqa: E402
from tinyml_converter.blob import read_blob  # noqa: E402
from tinyml_converter.classic import convert_estimator, float32_keys, key_floats  # noqa: E402
from tinyml_converter.errors import ConversionError, ModelRefused  # noqa: E402
from tinyml_converter.host_runtime import HostModel  # noqa: E402

ROWS = 1200
RTOL = 1e-6


def classification(features, classes, seed):
    if classes == "blobs":
        X, y = make_blobs(n_samples=ROWS, n_features=features, centers=4, random_state=seed)
    else:
        informative = min(features, 4)
        X, y = make_classification(n_samples=ROWS, n_features=features, n_informative=informative,
                                   n_redundant=min(features - informative, 1), n_classes=classes,
                                   random_state=seed)
    return X.astype(np.float32).astype(np.float64), y


def regression(features, seed):
    X, y = make_regression(n_samples=ROWS, n_features=features, noise=5.0, random_state=seed)
    return X.astype(np.float32).astype(np.float64), y


CLASSIFICATION_DATA = [(5, 2, 0), (7, 3, 1), (12, 5, 2), (3, "blobs", 3)]
REGRESSION_DATA = [(4, 0), (9, 1)]

CLASSIFIERS = {
    "tree": lambda: tree.DecisionTreeClassifier(min_samples_leaf=3, random_state=0),
    "tree_deep": lambda: tree.DecisionTreeClassifier(random_state=0),
    "forest": lambda: ensemble.RandomForestClassifier(n_estimators=15, max_depth=8, random_state=0),
    "forest_pure": lambda: ensemble.RandomForestClassifier(n_estimators=10, random_state=0),
    "extra_trees": lambda: ensemble.ExtraTreesClassifier(n_estimators=12, min_samples_leaf=2, random_state=0),
    "gradient_boosting": lambda: ensemble.GradientBoostingClassifier(n_estimators=15, max_depth=3,
                                                                     random_state=0),
    "hist_gradient_boosting": lambda: ensemble.HistGradientBoostingClassifier(max_iter=15, random_state=0),
    "logistic": lambda: linear_model.LogisticRegression(max_iter=500),
    "linear_svc": lambda: svm.LinearSVC(),
    "gaussian_nb": lambda: naive_bayes.GaussianNB(),
    "scaled_gaussian_nb": lambda: make_pipeline(MinMaxScaler(), naive_bayes.GaussianNB(var_smoothing=1e-6)),
    "knn": lambda: neighbors.KNeighborsClassifier(5),
    "knn_distance": lambda: neighbors.KNeighborsClassifier(8, weights="distance"),
    "scaled_knn": lambda: make_pipeline(StandardScaler(), neighbors.KNeighborsClassifier(3)),
    "svc": lambda: svm.SVC(break_ties=True),
    "scaled_svc_rbf": lambda: make_pipeline(StandardScaler(), svm.SVC(C=3.0, gamma=0.2, break_ties=True)),
    "nu_svc": lambda: svm.NuSVC(nu=0.3, break_ties=True),
    "scaled_forest": lambda: make_pipeline(StandardScaler(), ensemble.RandomForestClassifier(
        n_estimators=8, max_depth=6, random_state=0)),
    "scaled_boosting": lambda: make_pipeline(RobustScaler(), MinMaxScaler(),
                                             ensemble.GradientBoostingClassifier(n_estimators=8, random_state=0)),
    "scaled_logistic": lambda: make_pipeline(StandardScaler(), linear_model.LogisticRegression(max_iter=500)),
    "clipped_boosting": lambda: make_pipeline(MinMaxScaler(clip=True), ensemble.HistGradientBoostingClassifier(
        max_iter=8, random_state=0)),
    "scaled_svc": lambda: make_pipeline(MaxAbsScaler(), StandardScaler(with_mean=False), svm.LinearSVC()),
}

REGRESSORS = {
    "tree": lambda: tree.DecisionTreeRegressor(max_depth=10, random_state=0),
    "forest": lambda: ensemble.RandomForestRegressor(n_estimators=8, max_depth=10, random_state=0),
    "extra_trees": lambda: ensemble.ExtraTreesRegressor(n_estimators=8, max_depth=8, random_state=0),
    "gradient_boosting": lambda: ensemble.GradientBoostingRegressor(n_estimators=20, loss="huber",
                                                                    random_state=0),
    "hist_gradient_boosting": lambda: ensemble.HistGradientBoostingRegressor(max_iter=20, random_state=0),
    "linear_svr": lambda: svm.LinearSVR(max_iter=5000, random_state=0),
    "ridge": lambda: linear_model.Ridge(),
    "knn": lambda: neighbors.KNeighborsRegressor(4),
    "knn_distance": lambda: neighbors.KNeighborsRegressor(6, weights="distance"),
    "scaled_forest": lambda: make_pipeline(StandardScaler(), ensemble.RandomForestRegressor(
        n_estimators=5, max_depth=8, random_state=0)),
    "scaled_ridge": lambda: make_pipeline(StandardScaler(), linear_model.Ridge()),
}


def final_step(model):
    return model.steps[-1][1] if hasattr(model, "steps") else model


def run_blob(blob, X):
    h = HostModel(blob)
    return np.stack([h.invoke(np.ascontiguousarray(x, dtype=np.float32).reshape(1, -1))[0][0] for x in X])


def reference(model, X):
    """sklearn's scores (one column per class), value or outlier score on X."""
    est = final_step(model)
    if hasattr(est, "predict_proba"):
        return model.predict_proba(X)
    if hasattr(est, "classes_"):
        d = model.decision_function(X)
        return d if d.ndim == 2 else np.stack([-d, d], axis=1)
    if isinstance(est, ensemble.IsolationForest):
        return model.decision_function(X)[:, None]
    return model.predict(X).reshape(-1, 1)


def assert_matches(model, X, got, what=""):
    X = X.astype(np.float32).astype(np.float64)
    ref = reference(model, X)
    assert got.shape == ref.shape, what
    finite = np.isfinite(ref)
    assert np.array_equal(finite, np.isfinite(got)), what
    if hasattr(final_step(model), "classes_"):
        classes = final_step(model).classes_
        picked = classes[np.argmax(got, axis=1)]
        wrong = np.flatnonzero(picked != model.predict(X))
        assert wrong.size == 0, f"{what}: argmax differs from predict on {wrong.size} rows, first {wrong[:5]}"
    atol = 1e-9 * max(1.0, float(np.abs(ref[finite]).max(initial=0.0)))
    err = np.abs(got - ref)[finite]
    bound = (RTOL * np.abs(ref) + atol)[finite]
    assert (err <= bound).all(), f"{what}: worst error {err.max():.3g} (bound {bound[err.argmax()]:.3g})"


def convert(model):
    blob, _ = convert_estimator(model)
    return blob


@pytest.mark.parametrize("data", CLASSIFICATION_DATA, ids=lambda d: f"f{d[0]}_k{d[1]}_s{d[2]}")
@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_classifier(name, data):
    X, y = classification(*data)
    model = CLASSIFIERS[name]().fit(X, y)
    blob = convert(model)
    info = read_blob(blob)
    assert info.meta["labels"] == [str(c) for c in final_step(model).classes_]
    assert_matches(model, X, run_blob(blob, X), name)


@pytest.mark.parametrize("data", REGRESSION_DATA, ids=lambda d: f"f{d[0]}_s{d[1]}")
@pytest.mark.parametrize("name", sorted(REGRESSORS))
def test_regressor(name, data):
    X, y = regression(*data)
    model = REGRESSORS[name]().fit(X, y)
    blob = convert(model)
    assert "labels" not in read_blob(blob).meta
    assert_matches(model, X, run_blob(blob, X), name)


@pytest.mark.parametrize("seed,features,max_features", [(0, 4, 1.0), (1, 9, 0.6), (2, 6, 3)])
def test_isolation_forest(seed, features, max_features):
    X, _ = classification(features, 2, seed)
    model = ensemble.IsolationForest(n_estimators=25, max_features=max_features, random_state=seed).fit(X)
    got = run_blob(convert(model), X)
    assert_matches(model, X, got, "isolation forest")
    assert ((got[:, 0] < 0) == (model.predict(X.astype(np.float32)) == -1)).all()


def test_string_labels_and_label_order():
    X, y = classification(6, 3, 4)
    names = np.array(["walk", "idle", "run"])[y]
    model = ensemble.RandomForestClassifier(n_estimators=5, max_depth=5, random_state=0).fit(X, names)
    blob = convert(model)
    assert read_blob(blob).meta["labels"] == ["idle", "run", "walk"]
    assert HostModel(blob).meta(bl.META_LABELS) == b"idle\nrun\nwalk"
    assert_matches(model, X, run_blob(blob, X), "string labels")


def test_float32_fitted_logistic():
    """Fitted on float32, sklearn predicts in float32: argmax agrees, values
    to float32 arithmetic."""
    X, y = classification(7, 3, 5)
    model = linear_model.LogisticRegression(max_iter=500).fit(X.astype(np.float32), y)
    got = run_blob(convert(model), X)
    ref = model.predict_proba(X.astype(np.float32))
    assert (model.classes_[got.argmax(1)] == model.predict(X.astype(np.float32))).all()
    assert np.allclose(got, ref, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------
# adversarial rows for trees

def tree_thresholds(model):
    """(feature, threshold) of the internal nodes of every tree in the model
    (in the scaled domain for a pipeline)."""
    est = final_step(model)
    out = []
    if hasattr(est, "_predictors"):
        for it in est._predictors:
            for p in it:
                n = p.nodes[~p.nodes["is_leaf"].astype(bool)]
                out += list(zip(n["feature_idx"], n["num_threshold"]))
        return out
    trees = [est] if hasattr(est, "tree_") else [e for e in np.ravel(est.estimators_)]
    feats = getattr(est, "estimators_features_", None)
    for k, e in enumerate(trees):
        t = e.tree_
        inner = t.children_left >= 0
        f = t.feature[inner] if feats is None else np.asarray(feats[k])[t.feature[inner]]
        out += list(zip(f, t.threshold[inner]))
    return out


def adversarial_rows(model, X, rng, limit=400):
    """Rows whose features sit on the thresholds' float32 grid points and
    their neighbours, plus signed zeros, huge values and infinities."""
    pairs = tree_thresholds(model)
    rng.shuffle(pairs)
    pairs = pairs[:limit]
    base = X[rng.integers(0, len(X), size=len(pairs))].astype(np.float32)
    rows = []
    pre = model[:-1] if hasattr(model, "steps") else None
    for (f, t), row in zip(pairs, base):
        t32 = np.float32(t)
        if pre is not None:
            # the float32 x whose scaled value is nearest t, by bisection with sklearn's transform
            lo, hi = -0x7F800001, 0x7F800000
            while hi - lo > 1:
                mid = (lo + hi) // 2
                probe = row.copy()
                probe[f] = key_floats(mid)
                v = pre.transform(probe[None].astype(np.float64))[0, f]
                if (v if hasattr(final_step(model), "_predictors") else np.float32(v)) <= t:
                    lo = mid
                else:
                    hi = mid
            t32 = key_floats(lo)
        k = int(float32_keys(t32))
        for d in (-1, 0, 1, 2):
            r = row.copy()
            r[f] = key_floats(k + d)
            rows.append(r)
    n = X.shape[1]
    for v in (0.0, -0.0, 3.0e38, -3.0e38, 1e-45, -1e-45):
        rows.append(np.full(n, v, dtype=np.float32))
        r = X[0].astype(np.float32)
        r[rng.integers(0, n)] = v
        rows.append(r)
    return np.asarray(rows, dtype=np.float32)


TREE_CLASSIFIERS = ["tree", "tree_deep", "forest", "forest_pure", "extra_trees", "gradient_boosting",
                    "hist_gradient_boosting", "scaled_forest", "scaled_boosting", "clipped_boosting"]


@pytest.mark.parametrize("name", TREE_CLASSIFIERS)
def test_tree_thresholds_adversarial(name):
    X, y = classification(7, 3, 6)
    model = CLASSIFIERS[name]().fit(X, y)
    rows = adversarial_rows(model, X, np.random.default_rng(0))
    got = run_blob(convert(model), rows)
    with np.errstate(all="ignore"):
        assert_matches(model, rows.astype(np.float64), got, name)


@pytest.mark.parametrize("name", ["tree", "forest", "gradient_boosting", "hist_gradient_boosting"])
def test_regressor_thresholds_adversarial(name):
    X, y = regression(5, 7)
    model = REGRESSORS[name]().fit(X, y)
    rows = adversarial_rows(model, X, np.random.default_rng(1))
    assert_matches(model, rows.astype(np.float64), run_blob(convert(model), rows), name)


def test_isolation_forest_adversarial():
    X, _ = classification(5, 2, 8)
    model = ensemble.IsolationForest(n_estimators=20, max_features=0.8, random_state=0).fit(X)
    rows = adversarial_rows(model, X, np.random.default_rng(2))
    assert_matches(model, rows.astype(np.float64), run_blob(convert(model), rows), "isolation forest")


@pytest.mark.parametrize("make", [
    lambda: tree.DecisionTreeClassifier(max_depth=6, random_state=0),
    lambda: ensemble.HistGradientBoostingClassifier(max_iter=10, random_state=0),
    lambda: ensemble.RandomForestClassifier(n_estimators=5, max_depth=6, random_state=0),
    lambda: ensemble.IsolationForest(n_estimators=10, random_state=0),
], ids=["tree", "hist_gradient_boosting", "forest", "isolation_forest"])
def test_nan_follows_sklearn(make):
    """NaN policy: a NaN feature goes where sklearn sends it (the node's
    missing-value side), for every estimator that accepts NaN; trained on
    data with and without NaN."""
    X, y = classification(6, 3, 9)
    Xn = X.copy()
    Xn[np.random.default_rng(3).random(Xn.shape) < 0.05] = np.nan
    for train in (X, Xn):
        model = make()
        model.fit(train) if isinstance(model, ensemble.IsolationForest) else model.fit(train, y)
        rows = Xn[:300]
        assert_matches(model, rows, run_blob(convert(model), rows), type(model).__name__)


def test_wide_node_records():
    """More than 32766 features: 32-bit node records."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((200, 33000)).astype(np.float32)
    y = (X[:, 32999] + X[:, 5] > 0).astype(int) + (X[:, 20000] > 1)
    model = tree.DecisionTreeClassifier(max_depth=5, random_state=0).fit(X, y)
    blob = convert(model)
    op = read_blob(blob).ops[0]
    assert op["params"]["flags"] & bl.TREE_WIDE
    assert_matches(model, X[:100], run_blob(blob, X[:100]), "wide")


def test_leaf_value_types():
    """Pure-leaf forests keep float32 leaves (every value is 0 or 1); others float64."""
    X, y = classification(5, 2, 0)
    pure = convert(ensemble.RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y))
    mixed = convert(ensemble.RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y))
    assert not read_blob(pure).ops[0]["params"]["flags"] & bl.TREE_F64
    assert read_blob(mixed).ops[0]["params"]["flags"] & bl.TREE_F64


# ---------------------------------------------------------------------------
# refusals, files and the CLI

@pytest.mark.parametrize("make,words", [
    (lambda: neighbors.KNeighborsClassifier(3, p=1), ["KNeighborsClassifier", "metric='minkowski' (p=1)",
                                                       "not supported"]),
    (lambda: svm.SVC(kernel="poly"), ["SVC", "kernel='poly'", "rbf"]),
    (lambda: svm.SVC(), ["break_ties=False", "tied votes"]),
    (lambda: make_pipeline(__import__("sklearn.decomposition", fromlist=["x"]).PCA(2),
                           linear_model.LogisticRegression()), ["Pipeline step 'pca'", "PCA"]),
    (lambda: ensemble.HistGradientBoostingRegressor(loss="poisson", max_iter=3), ["loss='poisson'", "LogLink"]),
    (lambda: ensemble.GradientBoostingClassifier(loss="exponential", n_estimators=3), ["loss='exponential'"]),
    (lambda: make_pipeline(MinMaxScaler(clip=True), linear_model.LogisticRegression()), ["clip=True",
                                                                                        "not affine"]),
])
def test_unsupported_is_named(make, words):
    X, y = classification(4, 3 if "tied votes" in words else 2, 0)
    model = make()
    model.fit(X, np.abs(y) + 1 if "poisson" in " ".join(words) else y)
    with pytest.raises(ConversionError) as e:
        convert_estimator(model)
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("make", [lambda: tree.DecisionTreeRegressor(max_depth=3),
                                  lambda: ensemble.RandomForestRegressor(n_estimators=2, max_depth=3),
                                  lambda: ensemble.ExtraTreesClassifier(n_estimators=2, max_depth=3),
                                  lambda: neighbors.KNeighborsRegressor(2)])
def test_multi_output_refused(make):
    X, y = regression(3, 0)
    model = make().fit(X, np.stack([y > 0, y > 1], 1).astype(int))
    with pytest.raises(ConversionError, match="multi-output"):
        convert_estimator(model)


def test_cli_joblib_and_skops(tmp_path, capsys):
    import joblib
    import skops.io as sio

    X, y = classification(5, 3, 1)
    model = make_pipeline(StandardScaler(), ensemble.GradientBoostingClassifier(n_estimators=5)).fit(X, y)
    joblib.dump(model, tmp_path / "m.joblib")
    sio.dump(model, tmp_path / "m.skops")
    for src in ("m.joblib", "m.skops"):
        out = tmp_path / f"{src}.tinyml"
        assert cli.main(["convert", str(tmp_path / src), "-o", str(out)]) == 0
        assert "TREE_ENSEMBLE" in capsys.readouterr().out
        assert_matches(model, X[:200], run_blob(out.read_bytes(), X[:200]), src)
    assert cli.main(["inspect", str(tmp_path / "m.skops.tinyml")]) == 0
    assert "TREE_ENSEMBLE" in capsys.readouterr().out
    assert cli.main(["check", str(tmp_path / "m.skops.tinyml"), "--board", "qemu_m0"]) == 0
    np.save(tmp_path / "x.npy", X[:1].astype(np.float32))
    assert cli.main(["run", str(tmp_path / "m.joblib.tinyml"), "--input", str(tmp_path / "x.npy")]) == 0
    assert f"top: {model.predict(X[:1])[0]}" in capsys.readouterr().out


def test_cli_refuses_unsupported_estimator(tmp_path, capsys):
    import joblib
    X, y = regression(3, 0)
    joblib.dump(svm.SVR().fit(X, y), tmp_path / "svr.joblib")
    out = tmp_path / "svr.tinyml"
    assert cli.main(["convert", str(tmp_path / "svr.joblib"), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "SVR is not supported" in err and "RandomForestClassifier" in err
    assert not out.exists()


def test_cli_unreadable_file(tmp_path, capsys):
    (tmp_path / "bad.pkl").write_bytes(b"not a pickle")
    assert cli.main(["convert", str(tmp_path / "bad.pkl")]) == 2
    assert "cannot load" in capsys.readouterr().err


def test_cli_skops_untrusted_type_refused(tmp_path, capsys):
    import skops.io as sio
    from fractions import Fraction

    sio.dump({"model": Fraction(1, 3)}, tmp_path / "odd.skops")
    assert cli.main(["convert", str(tmp_path / "odd.skops")]) == 2
    assert "fractions.Fraction" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# hostile blobs: the loader refuses, naming the rule

def _patch(blob, offset, fmt, value):
    b = bytearray(blob)
    struct.pack_into(fmt, b, offset, value)
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[bl.CRC_START:])) & 0xFFFFFFFF)
    return bytes(b)


def _tree_blob():
    X, y = classification(5, 3, 0)
    return convert(tree.DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y))


def test_loader_refuses_bad_nodes():
    blob = _tree_blob()
    info = read_blob(blob)
    p = info.ops[0]["params"]
    nodes = info.header["data_offset"] + p["nodes"]
    with pytest.raises(ModelRefused, match="node child not forward"):
        HostModel(_patch(blob, nodes + 6, "<H", 0))               # right jump 0 at the root
    with pytest.raises(ModelRefused, match="node feature not below"):
        HostModel(_patch(blob, nodes + 4, "<H", 5))               # feature 5 of 5
    leaf = next(i for i in range(p["node_count"])
                if struct.unpack_from("<H", blob, nodes + 8 * i + 4)[0] == bl.TREE_LEAF16)
    with pytest.raises(ModelRefused, match="leaf value index"):
        HostModel(_patch(blob, nodes + 8 * leaf, "<i", p["leaf_values"]))


def test_loader_refuses_float32_into_int8_and_bad_post():
    blob = _tree_blob()
    info = read_blob(blob)
    out_tensor = info.header["tensors_offset"] + info.outputs[0] * bl.TENSOR.size
    with pytest.raises(ModelRefused, match="not float32"):
        HostModel(_patch(blob, out_tensor + bl.TENSOR.size - 4, "<B", bl.DTYPE_INT8))
    op = info.header["ops_offset"] + bl.OP_HEADER.size + 4     # one input, one output: 4 index bytes
    post = op + bl.PARAMS["TREE_ENSEMBLE"][0].size - 3
    with pytest.raises(ModelRefused, match="unknown post-processing"):
        HostModel(_patch(blob, post, "<B", 99))


@pytest.mark.parametrize("features,weights,algorithm", [(4, "distance", "auto"), (20, "uniform", "auto"),
                                                        (9, "distance", "brute"), (6, "uniform", "ball_tree")])
def test_knn_held_out_rows(features, weights, algorithm):
    """Queries that are not training points, through each of sklearn's
    neighbour searches (kd-tree, ball tree and brute force, which rounds
    distances its own way)."""
    X, y = classification(features, 4, 10)
    model = neighbors.KNeighborsClassifier(6, weights=weights, algorithm=algorithm).fit(X[:600], y[:600])
    assert_matches(model, X[600:], run_blob(convert(model), X[600:]), f"knn {algorithm}")


@pytest.mark.parametrize("make", [
    lambda: ensemble.RandomForestClassifier(n_estimators=4, max_depth=6, random_state=0),
    lambda: ensemble.HistGradientBoostingClassifier(max_iter=4, random_state=0),
    lambda: neighbors.KNeighborsClassifier(4),
    lambda: svm.SVC(break_ties=True),
    lambda: make_pipeline(StandardScaler(), linear_model.LogisticRegression()),
    lambda: naive_bayes.GaussianNB(),
], ids=["forest", "hist_gradient_boosting", "knn", "svc", "logistic", "gaussian_nb"])
def test_blob_changed_after_load(make):
    """The blob is read in place and may change after load (a reused
    bytearray): every invoke over randomly rewritten constants returns (the
    kernels bound each index they read), and the intact blob answers as
    before."""
    X, y = classification(5, 3, 12)
    model = make().fit(X[:300], y[:300])
    blob = convert(model)
    h = HostModel(blob)
    x = X[:1].astype(np.float32)
    (before,) = h.invoke(x)
    info = read_blob(blob)
    start, size = info.header["data_offset"], info.header["data_size"]
    rng = np.random.default_rng(5)
    raw = (ctypes.c_uint8 * len(blob)).from_buffer(h._blob)
    for trial in range(300):
        for pos in rng.integers(start, start + size, size=1 + trial % 16):
            raw[pos] = int(rng.integers(0, 256))
        h.invoke(x)
        if trial % 50 == 49:
            ctypes.memmove(h._blob, blob, len(blob))
    ctypes.memmove(h._blob, blob, len(blob))
    assert np.array_equal(h.invoke(x)[0], before)
