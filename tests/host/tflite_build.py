"""Write small .tflite files by hand, for ops and options TensorFlow's
converter does not emit from Keras (SVDF, an LSTM with peepholes, CIFG or a
projection). Only the file is ours: TFLite's interpreter then runs it as the
oracle, and its own Prepare checks every shape and quantisation we chose.
"""

import numpy as np

TYPES = {np.dtype(np.float32): 0, np.dtype(np.int32): 2, np.dtype(np.int16): 7, np.dtype(np.int8): 9,
         np.dtype(np.bool_): 6}


class Builder:
    def __init__(self):
        from tensorflow.lite.python import schema_py_generated as s

        self.s = s
        self.tensors, self.buffers = [], [s.BufferT()]
        self.ops, self.codes = [], []

    def tensor(self, name, shape, dtype, scale=None, zero_point=0, data=None, variable=False) -> int:
        s = self.s
        t = s.TensorT()
        t.name = name
        t.shape = np.array(shape, np.int32)
        t.type = TYPES[np.dtype(dtype)]
        t.isVariable = variable
        if scale is not None:
            q = s.QuantizationParametersT()
            q.scale = [float(scale)]
            q.zeroPoint = [int(zero_point)]
            t.quantization = q
        t.buffer = 0
        if data is not None:
            b = s.BufferT()
            b.data = np.frombuffer(np.asarray(data, dtype).astype(np.dtype(dtype).newbyteorder("<")).tobytes(),
                                   np.uint8)
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, builtin: str, inputs, outputs, options_type: str = None, options=None, intermediates=None):
        s = self.s
        code = getattr(s.BuiltinOperator, builtin)
        if code not in [c.builtinCode for c in self.codes]:
            c = s.OperatorCodeT()
            c.builtinCode = code
            c.deprecatedBuiltinCode = min(code, 127)
            c.version = 1
            self.codes.append(c)
        o = s.OperatorT()
        o.opcodeIndex = [c.builtinCode for c in self.codes].index(code)
        o.inputs = np.array(inputs, np.int32)
        o.outputs = np.array(outputs, np.int32)
        if options_type:
            o.builtinOptionsType = getattr(s.BuiltinOptions, options_type)
            o.builtinOptions = options
        if intermediates is not None:
            o.intermediates = np.array(intermediates, np.int32)
        self.ops.append(o)

    def version(self, builtin: str, version: int):
        code = getattr(self.s.BuiltinOperator, builtin)
        for c in self.codes:
            if c.builtinCode == code:
                c.version = version

    def finish(self, inputs, outputs) -> bytes:
        import flatbuffers

        s = self.s
        g = s.SubGraphT()
        g.tensors, g.operators = self.tensors, self.ops
        g.inputs, g.outputs = np.array(inputs, np.int32), np.array(outputs, np.int32)
        m = s.ModelT()
        m.version = 3
        m.operatorCodes, m.subgraphs, m.buffers = self.codes, [g], self.buffers
        m.description = "tinyml test model"
        b = flatbuffers.Builder(0)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())
