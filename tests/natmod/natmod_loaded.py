# Run by scripts/natmod_test.py on stock firmware: _tinyml and tinyml must
# come from the installed .mpy files (a built-in module has no __file__).
import _tinyml
import tinyml

print(_tinyml.__file__.endswith("_tinyml.mpy"))
print(tinyml.__file__.endswith("tinyml/__init__.mpy"))
print(tinyml.Model.__name__, _tinyml.Model.__name__)

# Error messages are formatted by the module's own raise helper here.
try:
    _tinyml.Model(bytes(64))
except ValueError as e:
    print(e)
b = bytearray(2)
try:
    _tinyml.quantize([1.0, 2.0, 3.0], 1.0, 0, b)
except ValueError as e:
    print(e)

# Rounding half away from zero, as TFLite's QUANTIZE: hand-worked values.
b = bytearray(10)
_tinyml.quantize([0.5, -0.5, 1.5, -1.5, 2.4999, 300.0, -300.0, 0.25, 0.75, -0.25], 0.5, -3, b)
print([v - 256 if v > 127 else v for v in b])
f = __import__("array").array("f", [0.0] * 3)
_tinyml.dequantize(bytes([0, 255, 10]), 0.25, -2, f)
print(list(f))
