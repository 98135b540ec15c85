# quantize() rounds as TFLite's QUANTIZE: the quotient in float32, halves
# away from zero. Expected values are worked by hand (see the .exp).
from array import array

from _tinyml import quantize


def q(values, scale, zero_point):
    out = bytearray(len(values))
    quantize(values, scale, zero_point, out)
    return [b - 256 if b > 127 else b for b in out]


# Exact ties, x / 0.5 = +-0.5, +-1.5, +-2.5: away from zero (numpy's round
# would give 0, 2, 2 and their negatives).
print(q([0.25, -0.25, 0.75, -0.75, 1.25, -1.25], 0.5, 0))
# The same ties next to a zero point: the rounding comes before the shift.
print(q([0.25, -0.25, 1.25, -1.25], 0.5, 10))
# A model's scales are float32: 0.1 is stored as 0.10000000149011612. Then
# 0.25 / scale is 2.49999996... in double but exactly 2.5 in float32 (within
# half a float32 step of it), so TFLite gives 3 where a double division
# (the unix port's float) would give 2.
print(q(array("f", [0.25, -0.25]), 0.10000000149011612, 0))
# Saturation at both ends, whatever the zero point.
print(q([1000.0, -1000.0, 63.75, -64.25], 0.5, 0))
