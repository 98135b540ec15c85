#!/usr/bin/env python3
"""Size table for the shared model set (tests/models.py): .tflite bytes vs
.tinyml blob bytes, planned arena vs its lower bound, MACs.

    .venv/bin/python scripts/model_report.py [--json OUT]
"""

import argparse
import contextlib
import io
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "converter"), str(ROOT / "tests")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()

    import models
    from tinyml_converter import convert

    rows = []
    print(f"{'model':18} {'tflite B':>9} {'blob B':>9} {'blob/tflite':>11} {'arena B':>8} "
          f"{'bound B':>8} {'optimal':>7} {'MACs':>10}")
    for name, builder in models.MODELS.items():
        keras_model, calib, labels = builder()
        with contextlib.redirect_stdout(io.StringIO()):
            tflite = convert.keras_to_tflite(keras_model, calib, int16=getattr(builder, "int16", False))
        blob, rep = convert.convert_tflite(tflite, name=name, labels=labels)
        row = dict(model=name, tflite_bytes=len(tflite), blob_bytes=len(blob),
                   arena_bytes=rep.arena_size, lower_bound=rep.lower_bound,
                   optimal=rep.plan_optimal, macs=rep.macs, ops=len(rep.ops))
        rows.append(row)
        print(f"{name:18} {len(tflite):9d} {len(blob):9d} {len(blob) / len(tflite):11.2f} "
              f"{rep.arena_size:8d} {rep.lower_bound:8d} {str(rep.plan_optimal):>7} {rep.macs:10d}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
