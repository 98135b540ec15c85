"""Keras 3 recurrent layers made convertible to int8 TFLite.

Keras 3 traces an LSTM, GRU or SimpleRNN as a WHILE loop over time steps.
TFLiteConverter cannot quantise that loop to int8 (TF 2.21 segfaults on an
LSTM), and TFLite Micro-style runtimes have no control flow anyway. The same
layer with `unroll=True` is traced as one copy of the cell per time step:
FULLY_CONNECTED, ADD, MUL, LOGISTIC, TANH, SPLIT and slices, which convert to
int8 and run exactly. Unrolling needs a fixed sequence length and, for the
state tensors' shapes, a fixed batch of 1.

So the model is rebuilt from its config with every recurrent layer unrolled
and the batch fixed at 1, and given the original weights: the same function,
traced without the loop.
"""

from __future__ import annotations

from .errors import ConversionError

RECURRENT_LAYERS = ("LSTM", "GRU", "SimpleRNN")


def _walk(node, visit, path=()):
    """Calls visit(config_dict, class_name, path) for every layer config in a
    Keras config tree (Sequential and Functional models, nested models and
    wrappers such as Bidirectional or TimeDistributed)."""
    if isinstance(node, dict):
        if "class_name" in node and isinstance(node.get("config"), dict):
            visit(node["config"], node["class_name"], path)
        for key, value in node.items():
            _walk(value, visit, path + (key,))
    elif isinstance(node, list):
        for item in node:
            _walk(item, visit, path)


def _recurrent_layers(model) -> list:
    """[(recurrent layer, the layer in the graph that holds it)]: a wrapper
    such as Bidirectional is the one with an input."""
    found = []

    def visit(layer, host):
        if type(layer).__name__ in RECURRENT_LAYERS:
            found.append((layer, host))
        for inner in ("layer", "forward_layer", "backward_layer"):
            if getattr(layer, inner, None) is not None:
                visit(getattr(layer, inner), host)
        for sub in getattr(layer, "layers", ()):
            visit(sub, sub)

    for layer in model.layers:
        visit(layer, layer)
    return found


def unroll_recurrent(model, calib_shapes=None):
    """(model, notes): `model` unchanged with no notes when it has no
    recurrent layer that needs it; otherwise a rebuilt copy with every
    recurrent layer unrolled and batch 1, and one note per layer saying so.

    calib_shapes: the calibration arrays' shapes, one per input, used for an
    input whose sequence length the model leaves open. ConversionError names
    the layer when it cannot be done."""
    import keras

    layers = [layer for layer, _host in _recurrent_layers(model)]
    batch_one = all(t.shape[0] == 1 for t in model.inputs)
    if not layers or (batch_one and all(getattr(layer, "unroll", False) for layer in layers)):
        return model, []
    for layer in layers:
        if getattr(layer, "stateful", False):
            raise ConversionError(
                f"{type(layer).__name__} (Keras layer '{layer.name}'): stateful=True is not supported: "
                "its state would have to persist between calls, and this conversion runs each input "
                "window from a zero state. Train with stateful=False and feed whole windows.")
    try:
        config = model.get_config()
    except (NotImplementedError, TypeError) as exc:
        raise ConversionError(
            f"the model has {type(layers[0]).__name__} layer '{layers[0].name}', which TFLite can only "
            "quantise unrolled, and a subclassed model cannot be rebuilt unrolled from its config "
            f"({exc}); build it with keras.Sequential or the functional API") from None

    inputs = list(model.inputs)
    fixed = []
    for k, t in enumerate(inputs):
        shape = list(t.shape[1:])
        if any(d is None for d in shape):
            got = calib_shapes[k][1:] if calib_shapes and k < len(calib_shapes) else None
            if got is None or len(got) != len(shape):
                raise ConversionError(
                    f"the model has {type(layers[0]).__name__} layer '{layers[0].name}', which is "
                    f"unrolled over a fixed number of time steps, but input {k} has shape "
                    f"{tuple(shape)}: give keras.Input a fixed sequence length")
            shape = [g if d is None else d for d, g in zip(shape, got)]
        fixed.append([1] + [int(d) for d in shape])

    input_index = iter(range(len(fixed)))

    def patch(cfg, class_name, _path):
        if class_name in RECURRENT_LAYERS:
            cfg["unroll"] = True
        elif class_name == "InputLayer":
            k = next(input_index, None)
            if k is not None:
                cfg["batch_shape"] = fixed[k]
                cfg.pop("batch_size", None)
                cfg.pop("shape", None)
                cfg.pop("batch_input_shape", None)

    _walk(config, patch)
    try:
        rebuilt = type(model).from_config(config)
        rebuilt.set_weights(model.get_weights())
    except Exception as exc:  # Keras raises many types for a config it cannot rebuild
        raise ConversionError(
            f"could not rebuild the model with its {type(layers[0]).__name__} layers unrolled "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(rebuilt, keras.Model):
        raise ConversionError("the rebuilt model is not a keras.Model")
    notes = []
    for layer, host in _recurrent_layers(rebuilt):
        steps = host.input.shape[1]
        notes.append(f"{type(layer).__name__} '{layer.name}' unrolled over {steps} time steps, batch 1 "
                     "(Keras 3 traces it as a loop, which TFLite cannot quantise to int8)")
    return rebuilt, notes


# ---------------------------------------------------------------------------
# LSTMs through tf_keras: TFLite's one fused op instead of an unrolled copy

# Base-layer keyword arguments tf_keras accepts on any layer.
_TFK_BASE_KWARGS = {"name", "trainable", "dtype", "dynamic", "input_dim", "input_shape", "batch_input_shape",
                    "batch_size", "weights", "activity_regularizer", "autocast", "implementation"}


def _plain(value, drop_objects=False):
    """A Keras 3 config value in tf_keras' form: serialized objects lose their
    `module` / `registered_name`, a dtype policy becomes its name.
    Initializers, regularizers and constraints do not matter here (the
    weights are copied, nothing is trained), so with drop_objects they go."""
    if isinstance(value, dict):
        if "class_name" in value and "config" in value and "module" in value:
            if value["class_name"] == "DTypePolicy":
                return value["config"]["name"]
            if drop_objects:
                return None
            return {"class_name": value["class_name"], "config": _plain(value["config"])}
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _tfk_layer_config(tfk, class_name: str, cfg: dict, batch_shape) -> dict:
    import inspect

    cls = getattr(tfk.layers, class_name, None)
    if cls is None:
        raise ValueError(f"tf_keras has no layer {class_name}")
    out = {}
    for key, value in cfg.items():
        is_object = key.endswith(("_initializer", "_regularizer", "_constraint"))
        out[key] = _plain(value, drop_objects=is_object)
        if key.endswith("_initializer") and out[key] is None:
            out[key] = "zeros"
    if class_name == "LSTM":
        # A stateful LSTM is a plain one whose state survives the call: what
        # the blob's state tensors do; TF cannot calibrate the stateful form.
        out["stateful"] = False
        out["unroll"] = False
        # TF 2.21's calibrator crashes on a fused LSTM without bias: give it a
        # zero one (the weights copy adds it), the same function.
        out["use_bias"] = True
    if class_name == "InputLayer":
        out.pop("batch_shape", None)
        out.pop("shape", None)
        out.pop("optional", None)
        out["batch_input_shape"] = batch_shape
    accepted = set(inspect.signature(cls.__init__).parameters) | _TFK_BASE_KWARGS
    return {k: v for k, v in out.items() if k in accepted}


def _tfk_nodes(nodes) -> list:
    """Keras 3 inbound nodes ({"args": [...], "kwargs": {}}) as tf_keras'
    [[layer, node, tensor, {}], ...] per node."""
    def tensors(v, found):
        if isinstance(v, dict) and v.get("class_name") == "__keras_tensor__":
            layer, n, t = v["config"]["keras_history"]
            found.append([layer, n, t, {}])
        elif isinstance(v, dict):
            for item in v.values():
                tensors(item, found)
        elif isinstance(v, (list, tuple)):
            for item in v:
                tensors(item, found)
        return found

    out = []
    for node in nodes:
        # Keyword arguments such as training=False or mask=None change nothing
        # at inference; a tensor passed by keyword (initial_state=...) would.
        if tensors(node.get("kwargs", {}), []):
            raise ValueError("a tensor passed as a call keyword argument")
        out.append(tensors(node.get("args", []), []))
    return out


def _io_list(v):
    v = [list(x) if isinstance(x, tuple) else x for x in v]
    return [v] if v and isinstance(v[0], str) else v


def lstm_in_tf_keras(model, calib_shapes, calib=None):
    """(tf_keras model, notes, stateful) with the same layers and weights as
    the Keras 3 `model`, batch 1, or None when that cannot be done faithfully. Keras 2's
    LSTM carries the annotation TFLiteConverter fuses into one
    UNIDIRECTIONAL_SEQUENCE_LSTM (Keras 3's does not): one op, its weights
    once, instead of a copy of the cell per time step.

    Only when every recurrent layer is a plain LSTM with TFLite's activations
    (its integer kernel computes tanh and sigmoid whatever the layer says), in
    a single-input Sequential or functional model; the rebuilt model must
    compute what the original does on `calib`, else None. `stateful` says
    whether an LSTM was stateful=True: then its state is meant to carry over
    from one invoke to the next; otherwise each invoke starts from zero, as a
    Keras call does."""
    try:
        import tf_keras as tfk
    except ImportError:
        return None
    found = _recurrent_layers(model)
    if not found or len(model.inputs) != 1:
        return None
    for layer, host in found:
        if (type(layer).__name__ != "LSTM" or host is not layer
                or layer.activation.__name__ != "tanh" or layer.recurrent_activation.__name__ != "sigmoid"):
            return None
    if any(layer.stateful for layer, _ in found) and model.inputs[0].shape[0] not in (None, 1):
        return None  # several streams in one batch: not what one blob's state holds
    shape = list(model.inputs[0].shape[1:])
    if any(d is None for d in shape):
        got = calib_shapes[0][1:] if calib_shapes else None
        if got is None or len(got) != len(shape):
            return None
        shape = [g if d is None else d for d, g in zip(shape, got)]
    batch_shape = [1] + [int(d) for d in shape]
    try:
        config = model.get_config()
        kind = type(model).__name__
        if kind == "Sequential":
            layers = []
            for entry in config["layers"]:
                layers.append({"class_name": entry["class_name"],
                               "config": _tfk_layer_config(tfk, entry["class_name"], entry["config"], batch_shape)})
            if layers[0]["class_name"] != "InputLayer":
                layers.insert(0, {"class_name": "InputLayer", "config": {"batch_input_shape": batch_shape}})
            rebuilt = tfk.Sequential.from_config({"name": config.get("name", "sequential"), "layers": layers})
        elif kind == "Functional":
            layers = []
            for entry in config["layers"]:
                if entry["class_name"] in ("Functional", "Sequential", "Model"):
                    return None
                layers.append({"class_name": entry["class_name"], "name": entry["name"],
                               "config": _tfk_layer_config(tfk, entry["class_name"], entry["config"], batch_shape),
                               "inbound_nodes": _tfk_nodes(entry.get("inbound_nodes", []))})
            rebuilt = tfk.Model.from_config({"name": config.get("name", "model"), "layers": layers,
                                             "input_layers": _io_list(config["input_layers"]),
                                             "output_layers": _io_list(config["output_layers"])})
        else:
            return None
        for layer in rebuilt.layers:
            if layer.weights:
                original = model.get_layer(layer.name)
                weights = original.get_weights()
                if type(original).__name__ == "LSTM" and not original.use_bias:
                    import numpy as np

                    weights.append(np.zeros(4 * original.units, np.float32))
                layer.set_weights(weights)
        if calib is not None:
            import numpy as np

            # Each sample from the zero state: the rebuilt LSTMs are stateless.
            x = np.asarray(calib, np.float32)[:16]
            for k in range(len(x)):
                for layer, _ in found:
                    if layer.stateful:
                        layer.reset_state()
                a = np.asarray(model(x[k:k + 1]))
                b = np.asarray(rebuilt(x[k:k + 1]))
                if a.shape != b.shape or not np.allclose(a, b, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(a).max()))):
                    return None
            for layer, _ in found:
                if layer.stateful:
                    layer.reset_state()
    except Exception:  # noqa: BLE001 - any failure means: unroll instead
        return None
    notes = [f"LSTM '{layer.name}' converted through tf_keras as one fused UNIDIRECTIONAL_SEQUENCE_LSTM, batch 1"
             + (" (stateful: its state carries over between invokes; Model.reset() clears it)"
                if layer.stateful else "")
             for layer, _ in found]
    return rebuilt, notes, any(layer.stateful for layer, _ in found)
