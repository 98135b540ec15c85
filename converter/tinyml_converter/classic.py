"""scikit-learn estimators -> .tinyml blob (TREE_ENSEMBLE and LINEAR ops).

    load_estimator(path) -> fitted estimator (.joblib, .pkl, .skops)
    convert_estimator(est, name=None, labels=None, source_sha256=None) -> (blob, ClassicReport)
    convert_sklearn_file(src, out, ...) -> ClassicReport

A blob made here has one float32 input [1, n_features] and one float32
output [1, outputs]: class scores in `classes_` order (predict_proba, or
decision_function where sklearn has no probabilities), the labels
str(c) for c in classes_ in the TML_META_LABELS record; a regression value;
IsolationForest's decision_function (negative: outlier). The record layouts
and the numerics are in usermod_c/tml_blob.h and tml_classic.c.

Trees are exact: the C walks compare integer keys of the float32 features
against thresholds rounded here onto the float32 grid (the largest float32
x whose scaled value is <= sklearn's float64 threshold), so every row
reaches sklearn's leaf. The sklearn these blobs reproduce is the estimator
given float64 rows holding the float32 inputs, as a NumPy array usually is:
scalers then compute in float64, and a tree casts their output to float32.
Scalers in front of a tree are folded into its thresholds by searching the
float32 grid with the scaler's own transform and that cast, so they are
exact too; in front of a linear model they are folded into the weights, in
float64. Sums are double in C, with sklearn's float64 leaf values and
weights, so the outputs are sklearn's values to float32 rounding (a linear
model fitted on float32 data keeps float32 coefficients and computes in
float32 in sklearn itself: then they agree to float32 arithmetic).

Loading a .joblib or .pkl runs pickle, which executes whatever code the file
names: convert only files you trust. A .skops file is loaded through skops'
trusted-types API, and only scikit-learn, NumPy and SciPy types are trusted.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from . import blob_layout as L
from .blob import write_blob
from .errors import ConversionError, CoreUnavailable, MissingTool, ModelFileError, ModelRefused
from .lowering import Const, Graph, Op, Tensor

SKOPS_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")
SCALERS = ("StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler")

_F32_NEG_INF_KEY = -0x7F800001  # key(-inf)
_F32_POS_INF_KEY = 0x7F800000   # key(+inf)


@dataclass
class ClassicReport:
    blob_size: int = 0
    arena_size: int = 0
    estimator: str = ""
    ops: list = field(default_factory=list)  # (opname, where), in execution order


def _sklearn():
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise MissingTool("scikit-learn is not installed (pip install 'tinyml_converter[sklearn]')") from None


# ---------------------------------------------------------------------------
# loading

def load_estimator(path):
    """The fitted estimator in a .joblib/.pkl (joblib, i.e. pickle: it runs
    code from the file) or .skops file (skops, trusted types only)."""
    _sklearn()
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".skops":
        try:
            import skops.io as sio
        except ImportError:
            raise MissingTool("loading .skops files needs skops (pip install skops)") from None
        try:
            untrusted = sio.get_untrusted_types(file=str(p))
        except Exception as exc:  # noqa: BLE001 - any failure here is a bad input file
            raise ModelFileError(f"cannot read the .skops file {p}: {type(exc).__name__}: {exc}") from exc
        refused = [t for t in untrusted if not t.startswith(SKOPS_TRUSTED_PREFIXES)]
        if refused:
            raise ModelFileError(
                f"{p}: the .skops file holds types outside scikit-learn, NumPy and SciPy, which tinyml "
                f"does not trust: {', '.join(sorted(refused))}")
        try:
            return sio.load(str(p), trusted=untrusted)
        except Exception as exc:  # noqa: BLE001
            raise ModelFileError(f"cannot load the .skops file {p}: {type(exc).__name__}: {exc}") from exc
    import joblib

    try:
        return joblib.load(str(p))
    except Exception as exc:  # noqa: BLE001 - truncated, not a pickle, missing class...
        raise ModelFileError(f"cannot load {p} with joblib: {type(exc).__name__}: {exc}") from exc


# ---------------------------------------------------------------------------
# float32 keys

def float32_keys(f: np.ndarray) -> np.ndarray:
    """The order-preserving int32 key of each float32 (tml_blob.h), as int64."""
    b = np.asarray(f, dtype=np.float32).view(np.int32).astype(np.int64)
    return np.where(b < 0, b ^ 0x7FFFFFFF, b)


def key_floats(k: np.ndarray) -> np.ndarray:
    """The float32 of each key (inverse of float32_keys)."""
    k = np.asarray(k, dtype=np.int64)
    b = np.where(k < 0, k ^ 0x7FFFFFFF, k).astype(np.int32)
    return b.view(np.float32)


def threshold_keys(t: np.ndarray) -> np.ndarray:
    """For each float64 threshold t, the key k with key(x) <= k iff
    float(x) <= t for every non-NaN float32 x: the largest float32 <= t
    (+0.0 for a zero, as -0.0 <= t holds whenever +0.0 <= t does)."""
    t = np.asarray(t, dtype=np.float64)
    if np.isnan(t).any():
        raise ConversionError("a tree threshold is NaN")
    with np.errstate(over="ignore"):
        f = t.astype(np.float32)
    over = f.astype(np.float64) > t
    f[over] = np.nextafter(f[over], np.float32(-np.inf))
    f[f == 0] = np.float32(0.0)
    return float32_keys(f)


def threshold_keys_through(pre, features: np.ndarray, t: np.ndarray, n_features: int,
                           cast: bool = True) -> np.ndarray:
    """threshold_keys() for a tree behind the monotone per-feature scalers
    `pre`: the largest key k whose float32 x has pre(x)[feature] <= t, found
    by bisection on the key grid with pre's own float64 transform, cast to
    float32 first when `cast` (sklearn's Tree does; HistGradientBoosting
    compares float64)."""
    if pre is None or len(t) == 0:
        return threshold_keys(t)
    n = len(t)
    lo = np.full(n, _F32_NEG_INF_KEY - 1, dtype=np.int64)  # left of every x: nothing goes left
    hi = np.full(n, _F32_POS_INF_KEY + 1, dtype=np.int64)
    rows = np.arange(n)
    X = np.zeros((n, n_features), dtype=np.float32)
    while True:
        open_ = hi - lo > 1
        if not open_.any():
            return lo
        mid = (lo + hi) // 2
        X[rows, features] = key_floats(mid)
        with np.errstate(all="ignore"):
            y = np.asarray(pre.transform(X.astype(np.float64)), dtype=np.float64)
            if cast:
                y = y.astype(np.float32).astype(np.float64)
        y = y[rows, features]
        ok = y <= t
        lo = np.where(open_ & ok, mid, lo)
        hi = np.where(open_ & ~ok, mid, hi)


# ---------------------------------------------------------------------------
# trees

@dataclass
class _Tree:
    """One tree as flat arrays: a leaf has left == -1; leaf_values[node] its values."""
    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    nan_left: np.ndarray
    leaf_values: np.ndarray  # (nodes, leaf_width) float64
    cast: bool = True        # compares float32(x) (sklearn's Tree), else float64 x (HistGradientBoosting)


def _sk_tree(tree_, values, feature_map=None) -> _Tree:
    left = np.asarray(tree_.children_left, dtype=np.int64)
    feature = np.asarray(tree_.feature, dtype=np.int64)
    if feature_map is not None:
        feature = np.where(left >= 0, np.asarray(feature_map)[np.maximum(feature, 0)], feature)
    return _Tree(left, np.asarray(tree_.children_right, dtype=np.int64), feature,
                 np.asarray(tree_.threshold, dtype=np.float64),
                 np.asarray(tree_.missing_go_to_left, dtype=bool), np.asarray(values, dtype=np.float64))


def _hgb_tree(predictor) -> _Tree:
    nodes = predictor.nodes
    if nodes["is_categorical"].any():
        raise ConversionError("categorical splits (categorical_features) are not supported")
    leaf = nodes["is_leaf"].astype(bool)
    return _Tree(np.where(leaf, -1, nodes["left"].astype(np.int64)), nodes["right"].astype(np.int64),
                 nodes["feature_idx"].astype(np.int64), nodes["num_threshold"].astype(np.float64),
                 nodes["missing_go_to_left"].astype(bool), nodes["value"][:, None], cast=False)


def _pack_trees(trees: list, n_features: int, pre) -> dict:
    """Node records (depth-first, left child next), roots and leaf values."""
    internal = [np.flatnonzero(t.left >= 0) for t in trees]
    feats = np.concatenate([t.feature[i] for t, i in zip(trees, internal)])
    thr = np.concatenate([t.threshold[i] for t, i in zip(trees, internal)])
    keys = threshold_keys_through(pre, feats, thr, n_features, cast=trees[0].cast)
    key_of = []
    pos = 0
    for t, i in zip(trees, internal):
        k = np.zeros(len(t.left), dtype=np.int64)
        k[i] = keys[pos:pos + len(i)]
        pos += len(i)
        key_of.append(k)
    width = trees[0].leaf_values.shape[1]
    records, roots, leaves = [], [], []
    for t, keys_t in zip(trees, key_of):
        roots.append(len(records))
        stack = [(0, -1)]
        while stack:
            n, parent = stack.pop()
            here = len(records)
            if parent >= 0:
                records[parent][2] = here - parent
            if t.left[n] < 0:
                records.append([len(leaves) * width, -1, 0, False])
                leaves.append(t.leaf_values[n])
            else:
                records.append([int(keys_t[n]), int(t.feature[n]), 0, bool(t.nan_left[n])])
                stack.append((int(t.right[n]), here))
                stack.append((int(t.left[n]), -1))
    wide = n_features >= 0x7FFF or any(r[2] > 0xFFFF for r in records)
    out = bytearray()
    for key, feat, right, nan_left in records:
        if wide:
            f = L.TREE_LEAF32 if feat < 0 else feat | (L.TREE_NAN_LEFT32 if nan_left else 0)
            out += L.TREE_NODE32.pack(key, f, right)
        else:
            f = L.TREE_LEAF16 if feat < 0 else feat | (L.TREE_NAN_LEFT16 if nan_left else 0)
            out += L.TREE_NODE16.pack(key, f, right)
    leaf_arr = np.asarray(leaves, dtype=np.float64).reshape(-1)
    return dict(nodes=bytes(out), node_count=len(records), roots=np.asarray(roots, "<u4").tobytes(),
                tree_count=len(trees), leaves=leaf_arr, leaf_values=len(leaf_arr), wide=wide, leaf_width=width)


def _exact_in_float32(v: np.ndarray) -> bool:
    return bool(np.all(v.astype(np.float32).astype(np.float64) == v))


def _tree_op(trees, raw, outputs, post, n_features, pre, base=None, post_params=None):
    """The op; leaves and base are float64 (what sklearn adds) unless they
    all are float32 values already (pure-leaf forests: 0 and 1)."""
    packed = _pack_trees(trees, n_features, pre)
    values = packed["leaves"] if base is None else np.concatenate([packed["leaves"], np.asarray(base, np.float64)])
    f64 = not _exact_in_float32(values)
    vtype = "<f8" if f64 else "<f4"
    params = dict(nodes=Const(packed["nodes"], "nodes"), node_count=packed["node_count"],
                  roots=Const(packed["roots"], "roots"), tree_count=packed["tree_count"],
                  leaves=Const(packed["leaves"].astype(vtype).tobytes(), "leaves"),
                  leaf_values=packed["leaf_values"],
                  base=L.NONE if base is None else Const(np.asarray(base, np.float64).astype(vtype).tobytes(), "base"),
                  post_params=(L.NONE if post_params is None
                               else Const(np.asarray(post_params, "<f8").tobytes(), "post_params")),
                  raw=raw, leaf_width=packed["leaf_width"],
                  flags=(L.TREE_WIDE if packed["wide"] else 0) | (L.TREE_F64 if f64 else 0), post=post, reserved=0)
    return "TREE_ENSEMBLE", params, outputs


def _class_values(tree_, n_classes: int, where: str) -> np.ndarray:
    if tree_.n_outputs != 1:
        raise ConversionError(f"{where}: multi-output trees are not supported (one target only)")
    return tree_.value[:, 0, :n_classes]


def _forest(est, name, pre, n_features):
    classifier = hasattr(est, "classes_")
    trees = []
    for e in est.estimators_:
        values = _class_values(e.tree_, len(est.classes_), name) if classifier else e.tree_.value[:, 0, :1]
        trees.append(_sk_tree(e.tree_, values))
    width = len(est.classes_) if classifier else 1
    return _tree_op(trees, width, width, L.POST_AVERAGE, n_features, pre)


def _decision_tree(est, name, pre, n_features):
    if hasattr(est, "classes_"):
        k = len(est.classes_)
        return _tree_op([_sk_tree(est.tree_, _class_values(est.tree_, k, name))], k, k, L.POST_NONE, n_features, pre)
    if est.tree_.n_outputs != 1:
        raise ConversionError(f"{name}: multi-output trees are not supported (one target only)")
    return _tree_op([_sk_tree(est.tree_, est.tree_.value[:, 0, :1])], 1, 1, L.POST_NONE, n_features, pre)


def _isolation_forest(est, name, pre, n_features):
    from sklearn.ensemble._iforest import _average_path_length

    denominator = len(est.estimators_) * float(_average_path_length([est._max_samples])[0])
    if not denominator > 0:
        raise ConversionError(f"{name}: max_samples=1 (a forest of single-sample trees) is not supported")
    trees = []
    for e, feats, dpl, apl in zip(est.estimators_, est.estimators_features_, est._decision_path_lengths,
                                  est._average_path_length_per_tree):
        trees.append(_sk_tree(e.tree_, (np.asarray(dpl) + np.asarray(apl) - 1.0)[:, None], feature_map=feats))
    return _tree_op(trees, 1, 1, L.POST_ISOLATION, n_features, pre, post_params=[denominator, float(est.offset_)])


def _gradient_boosting(est, name, pre, n_features):
    classifier = hasattr(est, "classes_")
    if not (est.init_ == "zero" or type(est.init_).__name__ in ("DummyClassifier", "DummyRegressor")):
        raise ConversionError(f"{name}: init={type(est.init_).__name__} is not supported (use the default "
                              "init or 'zero')")
    if classifier and est.loss != "log_loss":
        raise ConversionError(f"{name}: loss={est.loss!r} is not supported (log_loss only)")
    base = est._raw_predict_init(np.zeros((1, n_features), dtype=np.float32))[0]
    lr = float(est.learning_rate)
    trees = [_sk_tree(e.tree_, e.tree_.value[:, 0, :1] * lr) for stage in est.estimators_ for e in stage]
    k = est.estimators_.shape[1]
    if not classifier:
        return _tree_op(trees, 1, 1, L.POST_NONE, n_features, pre, base=base)
    if k == 1:
        return _tree_op(trees, 1, 2, L.POST_LOGISTIC, n_features, pre, base=base)
    return _tree_op(trees, k, k, L.POST_SOFTMAX, n_features, pre, base=base)


def _hist_gradient_boosting(est, name, pre, n_features):
    if getattr(est, "_preprocessor", None) is not None:
        raise ConversionError(f"{name}: categorical features are not supported")
    link = type(est._loss.link).__name__
    trees = [_hgb_tree(p) for iteration in est._predictors for p in iteration]
    base = np.asarray(est._baseline_prediction, dtype=np.float64).reshape(-1)
    k = est.n_trees_per_iteration_
    if hasattr(est, "classes_"):
        if k == 1:
            return _tree_op(trees, 1, 2, L.POST_LOGISTIC, n_features, pre, base=base)
        return _tree_op(trees, k, k, L.POST_SOFTMAX, n_features, pre, base=base)
    if link != "IdentityLink":
        raise ConversionError(f"{name}: loss={est.loss!r} is not supported (its predictions go through "
                              f"{link}; identity-link losses only: squared_error, absolute_error, quantile)")
    return _tree_op(trees, 1, 1, L.POST_NONE, n_features, pre, base=base)


# ---------------------------------------------------------------------------
# linear models, naive Bayes, neighbours, SVMs: scalers folded as affine maps

def _affine(pre, n_features, where):
    """(a, c) with pre(x) = a * x + c per feature, in float64."""
    a = np.ones(n_features)
    c = np.zeros(n_features)
    for name, s in pre.steps if pre is not None else ():
        kind = type(s).__name__
        if getattr(s, "clip", False):
            raise ConversionError(f"{where}: {kind}(clip=True) in front of it is not supported (clipping "
                                  "is not affine; only tree models take it)")
        one, zero = np.ones(n_features), np.zeros(n_features)
        if kind == "StandardScaler":
            sa = 1.0 / s.scale_ if s.with_std else one
            sc = -s.mean_ * sa if s.with_mean else zero
        elif kind == "MinMaxScaler":
            sa, sc = s.scale_, s.min_
        elif kind == "MaxAbsScaler":
            sa, sc = 1.0 / s.scale_, zero
        else:
            sa = 1.0 / s.scale_ if s.with_scaling else one
            sc = -s.center_ * sa if s.with_centering else zero
        a, c = a * sa, c * sa + sc
    return a, c


def _linear(est, name, pre, n_features):
    kind = type(est).__name__
    coef = np.atleast_2d(np.asarray(est.coef_, dtype=np.float64))
    intercept = np.broadcast_to(np.asarray(est.intercept_, dtype=np.float64).reshape(-1), (coef.shape[0],))
    if coef.shape[1] != n_features:
        raise ConversionError(f"{name}: coef_ has {coef.shape[1]} features, the model {n_features}")
    a, c = _affine(pre, n_features, name)
    weights = coef * a
    bias = intercept + coef @ c
    classifier = hasattr(est, "classes_")
    if not classifier:
        if coef.shape[0] != 1:
            raise ConversionError(f"{name}: multi-output regression is not supported (one target only)")
        post, outputs = L.POST_NONE, 1
    elif coef.shape[0] == 1:
        post, outputs = (L.POST_LOGISTIC if kind == "LogisticRegression" else L.POST_SIGN2), 2
    else:
        post, outputs = (L.POST_SOFTMAX if kind == "LogisticRegression" else L.POST_NONE), coef.shape[0]
    params = dict(weights=Const(weights.astype("<f8").tobytes(), "weights"),
                  bias=Const(bias.astype("<f8").tobytes(), "bias"), raw=coef.shape[0], post=post, reserved=0)
    return "LINEAR", params, outputs


def _gaussian_nb(est, name, pre, n_features):
    theta = np.asarray(est.theta_, dtype=np.float64)
    var = np.asarray(est.var_, dtype=np.float64)
    a, c = _affine(pre, n_features, name)
    # x' = a x + c, so (x' - theta) / sqrt(var) = (x - (theta - c) / a) / sqrt(var / a^2).
    theta = (theta - c) / a
    var = var / (a * a)
    bias = np.log(est.class_prior_) - 0.5 * np.sum(np.log(2.0 * np.pi * np.asarray(est.var_)), axis=1)
    params = dict(theta=Const(theta.astype("<f8").tobytes(), "theta"), var=Const(var.astype("<f8").tobytes(), "var"),
                  bias=Const(bias.astype("<f8").tobytes(), "bias"), raw=len(est.classes_), reserved=0)
    return "GAUSSIAN_NB", params, len(est.classes_)


def _knn(est, name, pre, n_features):
    if est.effective_metric_ != "euclidean":
        raise ConversionError(f"{name}: metric={est.metric!r} (p={est.p}) is not supported (Euclidean only: "
                              "metric='minkowski' with p=2, or 'euclidean')")
    if est.weights not in ("uniform", "distance"):
        raise ConversionError(f"{name}: weights={est.weights!r} is not supported ('uniform' or 'distance')")
    if getattr(est, "outputs_2d_", False) or np.ndim(est._y) > 1:
        raise ConversionError(f"{name}: multi-output targets are not supported (one target only)")
    k = int(est.n_neighbors)
    if k > L.KNN_MAX_K:
        raise ConversionError(f"{name}: n_neighbors={k} is more than {L.KNN_MAX_K}")
    a, c = _affine(pre, n_features, name)
    # |a x + c - p| = |a (x - (p - c) / a)|: points stored in the model's input space.
    points = (np.asarray(est._fit_X, dtype=np.float64) - c) / a
    classifier = hasattr(est, "classes_")
    targets = np.asarray(est._y, dtype=np.float64).reshape(-1)
    raw = len(est.classes_) if classifier else 1
    params = dict(points=Const(points.astype("<f8").tobytes(), "points"),
                  targets=Const(targets.astype("<f8").tobytes(), "targets"),
                  scale=L.NONE if pre is None else Const(np.asarray(a, "<f8").tobytes(), "scale"),
                  count=len(points), k=k, raw=raw, weights=int(est.weights == "distance"),
                  regression=int(not classifier), reserved=0)
    return "KNN", params, raw


def _svc(est, name, pre, n_features):
    kernel = est.kernel if isinstance(est.kernel, str) else f"a callable ({getattr(est.kernel, '__name__', '?')})"
    if kernel != "rbf":
        raise ConversionError(f"{name}: kernel={kernel!r} is not supported (kernel='rbf' only)")
    k = len(est.classes_)
    if k > L.SVM_MAX_CLASSES:
        raise ConversionError(f"{name}: {k} classes, more than {L.SVM_MAX_CLASSES}")
    if k > 2 and (est.decision_function_shape != "ovr" or not est.break_ties):
        raise ConversionError(
            f"{name}: with {k} classes, decision_function_shape={est.decision_function_shape!r} and "
            f"break_ties={est.break_ties} are not supported: predict's one-vs-one vote and the argmax of "
            "decision_function disagree on tied votes unless decision_function_shape='ovr' and break_ties=True "
            "(refit with those)")
    a, c = _affine(pre, n_features, name)
    support = (np.asarray(est.support_vectors_, dtype=np.float64) - c) / a
    starts = np.concatenate([[0], np.cumsum(est.n_support_)]).astype("<u4")
    params = dict(support=Const(support.astype("<f8").tobytes(), "support"),
                  coef=Const(np.asarray(est._dual_coef_, "<f8").tobytes(), "coef"),
                  intercept=Const(np.asarray(est._intercept_, "<f8").tobytes(), "intercept"),
                  starts=Const(starts.tobytes(), "starts"),
                  gamma=Const(np.asarray([est._gamma], "<f8").tobytes(), "gamma"),
                  scale=L.NONE if pre is None else Const(np.asarray(a, "<f8").tobytes(), "scale"),
                  count=len(support), classes=k, reserved=0)
    return "SVM_RBF", params, k


CONVERTERS = {
    "DecisionTreeClassifier": _decision_tree,
    "DecisionTreeRegressor": _decision_tree,
    "ExtraTreeClassifier": _decision_tree,
    "ExtraTreeRegressor": _decision_tree,
    "RandomForestClassifier": _forest,
    "RandomForestRegressor": _forest,
    "ExtraTreesClassifier": _forest,
    "ExtraTreesRegressor": _forest,
    "IsolationForest": _isolation_forest,
    "GradientBoostingClassifier": _gradient_boosting,
    "GradientBoostingRegressor": _gradient_boosting,
    "HistGradientBoostingClassifier": _hist_gradient_boosting,
    "HistGradientBoostingRegressor": _hist_gradient_boosting,
    "LogisticRegression": _linear,
    "LinearSVC": _linear,
    "LinearSVR": _linear,
    "LinearRegression": _linear,
    "Ridge": _linear,
    "Lasso": _linear,
    "ElasticNet": _linear,
    "GaussianNB": _gaussian_nb,
    "KNeighborsClassifier": _knn,
    "KNeighborsRegressor": _knn,
    "SVC": _svc,
    "NuSVC": _svc,
}
# The tinyml op each estimator runs as (docs/ops.md).
RUNS_AS = {name: {_linear: "LINEAR", _gaussian_nb: "GAUSSIAN_NB", _knn: "KNN", _svc: "SVM_RBF"}.get(fn, "TREE_ENSEMBLE")
           for name, fn in CONVERTERS.items()}


def _split_pipeline(est):
    """(scaler steps as a Pipeline or None, final estimator, its name)."""
    kind = type(est).__name__
    if kind != "Pipeline":
        return None, est, kind
    from sklearn.pipeline import Pipeline

    steps = [(n, s) for n, s in est.steps if s is not None and s != "passthrough"]
    if not steps:
        raise ConversionError("Pipeline: no estimator in it")
    for n, s in steps[:-1]:
        sk = type(s).__name__
        if sk not in SCALERS:
            raise ConversionError(
                f"Pipeline step '{n}' ({sk}) is not supported: only {', '.join(SCALERS)} may come before "
                "the estimator")
        if sk == "MinMaxScaler" and np.any(s.scale_ <= 0):
            raise ConversionError(f"Pipeline step '{n}' (MinMaxScaler): a decreasing feature_range is not supported")
    final = steps[-1][1]
    pre = Pipeline(steps[:-1]) if len(steps) > 1 else None
    return pre, final, f"Pipeline step '{steps[-1][0]}' ({type(final).__name__})"


def convert_estimator(est, *, name=None, labels=None, source_sha256=None):
    """(blob, ClassicReport) for a fitted scikit-learn estimator or Pipeline."""
    _sklearn()
    pre, final, where = _split_pipeline(est)
    kind = type(final).__name__
    if kind not in CONVERTERS:
        supported = ", ".join(sorted(CONVERTERS))
        raise ConversionError(f"{where}: {kind} is not supported; supported estimators: {supported} "
                              f"(optionally behind {', '.join(SCALERS)} in a Pipeline)")
    n_features = getattr(final, "n_features_in_", None)
    if n_features is None:
        raise ConversionError(f"{where}: the estimator is not fitted (no n_features_in_)")
    n_features = int(n_features)
    if getattr(final, "n_outputs_", 1) != 1:
        raise ConversionError(f"{where}: multi-output models are not supported ({final.n_outputs_} targets; "
                              "one only)")
    if pre is not None and int(getattr(pre[0], "n_features_in_", n_features)) != n_features:
        raise ConversionError(f"{where}: the scalers and the estimator disagree on the number of features")
    ops = [CONVERTERS[kind](final, where, pre, n_features)]
    if labels is None and hasattr(final, "classes_"):
        labels = [str(c) for c in final.classes_]
    if labels is not None and hasattr(final, "classes_") and len(labels) != len(final.classes_):
        raise ConversionError(f"{where}: {len(labels)} labels given for {len(final.classes_)} classes")
    blob, arena = _write(ops, n_features, name=name, labels=labels, source_sha256=source_sha256)
    report = ClassicReport(blob_size=len(blob), arena_size=arena, estimator=kind, ops=[(op[0], where) for op in ops])
    return blob, report


def _align8(n: int) -> int:
    return (n + 7) & ~7


def _write(ops, n_features, **meta):
    """ops: [(opname, params, outputs)] in order, each reading the one before
    (the first the model's input); every tensor float32 [1, n], laid out one
    after the other in the arena, then the scratch of the last op."""
    tensors = [Tensor("input", (1, n_features), 0.0, 0, dtype=L.DTYPE_FLOAT32)]
    graph_ops, offsets, end = [], [0], _align8(4 * n_features)
    for k, (opname, params, outputs) in enumerate(ops):
        tensors.append(Tensor(f"t{k + 1}", (1, outputs), 0.0, 0, dtype=L.DTYPE_FLOAT32))
        graph_ops.append(Op(opname, [k], [k + 1], params))
        offsets.append(end)
        end += _align8(4 * outputs)
    scratch = {}
    for k, (opname, params, _) in enumerate(ops):
        if opname == "SVM_RBF":  # tml_svm_rbf_scratch_size()
            size = 8 * (params["count"] + params["classes"] * (params["classes"] - 1) // 2 + 2 * params["classes"])
        else:  # tml_classic_scratch_size(), and tml_knn_scratch_size()'s neighbours
            size = 8 * max(params["raw"], 2) + (12 * params["k"] if opname == "KNN" else 0)
        scratch[k] = (end, size)
    arena = end + sum(size for _, size in scratch.values())
    graph = Graph(tensors=tensors, ops=graph_ops, inputs=[0], outputs=[len(ops)])
    try:
        blob = write_blob(graph, list(range(len(ops))), offsets, arena, scratch=scratch,
                          converter=f"tinyml_converter {__version__}", **meta)
    except (struct.error, OverflowError) as exc:
        raise ConversionError(f"the model does not fit the .tinyml format ({exc})") from exc
    _loader_accepts(blob)
    return blob, arena


def _loader_accepts(blob: bytes) -> None:
    """The C loader (the host build of the board's core) must accept what we wrote."""
    from .host_runtime import HostModel

    try:
        HostModel(blob)
    except CoreUnavailable:
        return
    except ModelRefused as e:
        raise ConversionError(f"internal error: the runtime refuses the converted model ({e})") from None


def convert_sklearn_file(src_path, out_path, *, name=None, labels=None) -> ClassicReport:
    from .convert import atomic_write, sha256_of

    est = load_estimator(src_path)
    blob, report = convert_estimator(est, name=name or Path(src_path).stem, labels=labels,
                                     source_sha256=sha256_of(src_path))
    atomic_write(out_path, blob)
    return report
