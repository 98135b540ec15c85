"""TensorFlow's work for `tinyml convert`, in a child process.

TFLiteConverter can die inside its C++ code (a Keras 3 LSTM quantised to
int8 segfaults it), and it fills stdout and stderr with its own logging.
Run in a child, a crash becomes a ConversionError naming the model, the
stage and what to try, and the logging goes nowhere unless --verbose.

The child speaks JSON lines on a pipe of its own: {"stage": ...},
{"progress": [done, total]}, then {"result": {...}} or {"error": {...}}.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from . import errors

RECURRENT_LAYERS = {"LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D",
                    "ConvLSTM3D"}
RANDOM_CALIB_SAMPLES = 64


def convert_file_isolated(src, out, *, calib=None, random_calib=False, labels=None, keep_tflite=False,
                          name=None, normalize=None, progress=None, verbose=False, embedding=None,
                          int16=False, ram_budget=None, fc_weights="int8"):
    """convert.convert_file() in a child process; returns its ConversionReport."""
    import numpy as np

    from .convert import ConversionReport

    with tempfile.TemporaryDirectory(prefix="tinyml_convert_") as tmp:
        request = dict(src=str(src), out=str(out), random_calib=random_calib, labels=labels,
                       keep_tflite=keep_tflite, name=name, normalize=normalize, calib=None,
                       embedding=embedding, int16=int16, ram_budget=ram_budget, fc_weights=fc_weights)
        if calib is not None:
            calib_path = Path(tmp) / "calib.npy"
            np.save(calib_path, np.asarray(calib, dtype=np.float32))
            request["calib"] = str(calib_path)
        proc = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=None if verbose else subprocess.DEVNULL, text=True,
            env={**os.environ, "TINYML_CHILD_QUIET": "" if verbose else "1"})
        proc.stdin.write(json.dumps(request))
        proc.stdin.close()
        stage, layers, answer = "starting", [], None
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue  # not ours: something in the child printed to the pipe
            if "stage" in msg:
                stage = msg["stage"]
                layers = msg.get("layers", layers)
            elif "progress" in msg and progress:
                progress(*msg["progress"])
            elif "result" in msg or "error" in msg:
                answer = msg
        code = proc.wait()
        if answer and "result" in answer:
            return ConversionReport(**answer["result"])
        if answer and "error" in answer:
            raise _rebuild(answer["error"])
        raise errors.ConversionError(_crash_message(src, code, stage, layers, verbose))


def _rebuild(error: dict) -> Exception:
    cls = getattr(errors, error["type"], None)
    if isinstance(cls, type) and issubclass(cls, errors.TinymlError) and cls is not errors.ModelRefused:
        return cls(error["message"])
    if error["type"] in ("ValueError", "OSError"):
        return errors.UsageError(error["message"])
    return errors.ConversionError(f"internal error in the converter: {error['type']}: {error['message']}")


def _crash_message(src, code: int, stage: str, layers: list, verbose: bool) -> str:
    if code < 0:
        try:
            how = f"crashed ({signal.Signals(-code).name})"
        except ValueError:
            how = f"was killed by signal {-code}"
    else:
        how = f"exited with status {code} without an answer"
    msg = f"{src}: TensorFlow {how} while {stage}."
    recurrent = [f"'{n}' ({cls})" for n, cls in layers if cls in RECURRENT_LAYERS]
    if recurrent:
        msg += (f" The model has recurrent layer(s) {', '.join(recurrent)}. tinyml unrolls LSTM, GRU "
                "and SimpleRNN layers (plain or in Bidirectional) before TensorFlow sees them; other "
                "recurrent layers (a custom RNN cell, ConvLSTM) reach TFLiteConverter as a WHILE loop, "
                "which it cannot quantise to int8. Replace those layers, or convert the model to an "
                "int8 .tflite yourself and give tinyml that file.")
    else:
        msg += (" Try converting the model to an int8 .tflite with TensorFlow yourself and give "
                "tinyml that file; if TensorFlow converts it, please report this.")
    if not verbose:
        msg += " Run with --verbose to see TensorFlow's own output."
    return msg


# ---------------------------------------------------------------------------
# the child

def _child() -> int:
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    # TF's C++ logging writes to the file descriptors, not to sys.stdout.
    target = os.open(os.devnull, os.O_WRONLY) if os.environ.get("TINYML_CHILD_QUIET") else 2
    os.dup2(target, 1)
    os.dup2(target, 2)

    def send(**msg):
        protocol.write(json.dumps(msg) + "\n")
        protocol.flush()

    req = json.loads(sys.stdin.read())
    try:
        import numpy as np

        from .convert import convert_file, load_keras, model_kind

        calib = np.load(req["calib"], allow_pickle=False) if req["calib"] else None
        kind = model_kind(req["src"])
        layers = []
        if kind == "keras":
            send(stage="loading the Keras model")
            model = load_keras(req["src"])
            flat = getattr(model, "_flatten_layers", None)  # nested models too, where Keras offers it
            found = flat(include_self=False) if flat else model.layers
            layers = [(layer.name, type(layer).__name__) for layer in found]
            if req["random_calib"]:
                shape = tuple(int(d) for d in model.inputs[0].shape[1:])
                calib = np.random.default_rng(0).standard_normal(
                    (RANDOM_CALIB_SAMPLES, *shape)).astype(np.float32)
        elif req["random_calib"]:
            raise errors.UsageError("--random-calib needs a .keras/.h5 model to know the input shape")
        if kind != "tflite":
            send(stage=f"quantising the model to {'16x8' if req.get('int16') else 'int8'} with TFLiteConverter",
                 layers=layers)
        else:
            send(stage="reading the .tflite model")
        report = convert_file(req["src"], req["out"], calib=calib, labels=req["labels"],
                              keep_tflite=req["keep_tflite"], name=req["name"],
                              normalize=req["normalize"], embedding=req["embedding"], int16=req.get("int16", False),
                              ram_budget=req.get("ram_budget"), fc_weights=req.get("fc_weights", "int8"),
                              progress=lambda done, total: send(progress=[done, total]))
        send(result=vars(report))
    except OSError as exc:  # reading the model worked (it was checked first): the output failed
        send(error={"type": "OSError", "message": f"cannot write {req['out']}: {exc.strerror or exc}"})
        return 1
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the parent as data
        send(error={"type": type(exc).__name__, "message": str(exc)})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_child())
