# The package and the C module report what they are, from the REPL.
import tinyml
import _tinyml

print(type(tinyml.__version__) is str and tinyml.__version__.count(".") == 2)
print(_tinyml.FORMAT_VERSION)
info = tinyml.info()
print(info["format"] == _tinyml.FORMAT_VERSION, info["package"] == tinyml.__version__)
print(sorted(k for k in info))
ops = info["ops"]
for name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX", "ADD", "LUT"):
    print(name, name in ops)
