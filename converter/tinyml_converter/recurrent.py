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
