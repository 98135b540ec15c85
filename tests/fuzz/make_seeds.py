#!/usr/bin/env python3
"""Write the fuzzer's seed corpus: real blobs of the model set.

Every model of tests/models.py, quantised by TFLite and converted by our
converter (the int8 .tflite files come from the parity tests' cache,
build/test-cache/, when it holds them), plus the hand-built blobs of the
loader tests that use every opcode, and hand-written .tflite files of the
ops no model uses. Output: one .tinyml per model in the
given folder (default build/fuzz/seeds/). Blobs longer than the fuzzer's
-max_len (MAX_BYTES) are left out: libFuzzer would only ever see them cut
short, and every execution would pay for the whole CRC.

    tests/fuzz/make_seeds.py [OUT_DIR]
"""

import contextlib
import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "converter"), str(ROOT / "tests"), str(ROOT / "tests" / "host")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
MAX_BYTES = 32768  # mk/fuzz.mk passes the same -max_len


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "fuzz" / "seeds"
    out.mkdir(parents=True, exist_ok=True)
    import numpy as np

    import models
    import parity
    import test_model_loader as loader_tests
    from tinyml_converter import convert

    source = parity.source_of(models.__file__, parity.__file__)
    for name, builder in models.MODELS.items():

        def build(builder=builder):
            model, calib, _labels = builder()
            return model, calib

        with contextlib.redirect_stdout(io.StringIO()):  # TF's export chatter
            tfl = parity.quantize(build, parity.cache_key("model", name, source),
                                  int16=getattr(builder, "int16", False))
        blob = convert.tflite_to_blob(tfl, name=name, labels=[f"class{i}" for i in range(3)],
                                      ram_budget=getattr(builder, "ram_budget", None))
        if len(blob) > MAX_BYTES:
            print(f"make_seeds: {name}: {len(blob)} bytes, longer than {MAX_BYTES}: left out")
            continue
        (out / f"{name}.tinyml").write_bytes(blob)
        print(f"make_seeds: {name}: {len(blob)} bytes", flush=True)
    (out / "kitchen_sink.tinyml").write_bytes(loader_tests.kitchen_sink_blob())
    chain, _ = loader_tests.chain_blob(np.random.default_rng(13))
    (out / "chain.tinyml").write_bytes(chain)
    for name, blob in sklearn_blobs():
        (out / f"{name}.tinyml").write_bytes(blob)
    # The LSTM comes with the models above; SVDF and the LSTM variants Keras
    # never makes (CIFG, peepholes, projection) from hand-written files.
    import test_lstm
    import test_svdf

    (out / "svdf.tinyml").write_bytes(convert.tflite_to_blob(test_svdf.svdf_model(3, 1, 16, 8, 2, 10)))
    (out / "lstm_variants.tinyml").write_bytes(convert.tflite_to_blob(test_lstm.handmade_lstm(
        5, 1, 4, 6, 7, n_output=4, projection=True, peephole=True, cifg=True)))
    # The 16x8 and bool ops no model of the set uses, from hand-written files.
    import test_s16

    handmade = {
        "div_s8": test_s16._div(np.int8, (1, 3, 4, 5), (1, 1, 1, 5), (1, 3, 4, 5), (0.03, 0.5, 0.01), (0, 10, -5)),
        "div_s16": test_s16._div(np.int16, (3, 4, 5), (1, 1, 5), (3, 4, 5), (0.01, 0.00003, 0.2), (0, 0, 0)),
        "compare_logical_select": test_s16._compare_select(np.int8, "GREATER", ((1, 4, 1, 6), (1, 1, 5, 1)),
                                                           (0.03, 0.04), (1, -2), logical="LOGICAL_AND"),
        "batch_matmul_s16": test_s16._batch_matmul((2, 5, 7), (2, 3, 7), (2, 5, 3), False, True),
        "leaky_relu_s16": test_s16._unary("LEAKY_RELU", 0.001, 0.0009, alpha=0.3),
        "fully_connected_s16": test_s16._fc(0.0007, [0.01], 0.011, np.arange(60) * 1000),
        "add_s16_pot": test_s16._add_pot("ADD", (1 / 4096, 1 / 1024, 1 / 1024)),
    }
    for name, tfl in handmade.items():
        (out / f"{name}.tinyml").write_bytes(convert.tflite_to_blob(tfl))
    print(f"make_seeds: {len(list(out.glob('*.tinyml')))} seeds in {out}")


def sklearn_blobs():
    """Small scikit-learn models, one per float32 op (TREE_ENSEMBLE narrow and
    wide-free, LINEAR, GAUSSIAN_NB, KNN, SVM_RBF)."""
    import numpy as np
    from sklearn import ensemble, linear_model, naive_bayes, neighbors, svm
    from sklearn.datasets import make_classification

    from tinyml_converter.classic import convert_estimator

    X, y = make_classification(n_samples=120, n_features=5, n_informative=3, n_classes=3, random_state=0)
    X = X.astype(np.float32).astype(np.float64)
    models = {
        "sk_forest": ensemble.RandomForestClassifier(n_estimators=3, max_depth=4, random_state=0),
        "sk_boosting": ensemble.HistGradientBoostingClassifier(max_iter=3, random_state=0),
        "sk_logistic": linear_model.LogisticRegression(),
        "sk_gaussian_nb": naive_bayes.GaussianNB(),
        "sk_knn": neighbors.KNeighborsClassifier(3, weights="distance"),
        "sk_svc": svm.SVC(break_ties=True),
    }
    for name, model in models.items():
        yield name, convert_estimator(model.fit(X, y), name=name)[0]
    iso = ensemble.IsolationForest(n_estimators=3, max_features=0.8, random_state=0).fit(X)
    yield "sk_isolation", convert_estimator(iso, name="sk_isolation")[0]


if __name__ == "__main__":
    main()
