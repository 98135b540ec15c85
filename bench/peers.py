"""Published peer figures: TensorFlow Lite Micro with CMSIS-NN kernels on
the MLPerf Tiny reference int8 models, measured in this project's harness.

How they were measured (the speed issue's record): TFLM built for the same
emulated cores with CMSIS-NN at the version TFLM pins and TFLM's release
flags (core -Os, kernels -O2), Debian's arm-none-eabi-gcc 12.2, run under
`qemu-system-arm -icount shift=0`; instructions per Invoke() from the CMSDK
timer (40 instructions a tick), best of 3 after a warm-up, as `make bench`
does for tinyml. The "qemu_m0" column is TFLM's ARMv6-M build (the M0
instruction set). TFLM's arena is its total for the model.

Our bench models (bench/models.py) have the MLPerf shapes with seeded
random weights, so their MAC counts differ from the reference models' by
under 0.3%; instructions are compared as they are.
"""

# bench model -> (MLPerf model, MACs, {board: instructions per invoke}, TFLM arena bytes)
TFLM_CMSIS_NN = {
    "kws_dscnn": ("KWS DS-CNN, 49x10x1", 2_656_768,
                  {"qemu_m4": 7_577_320, "qemu_m3": 10_531_240, "qemu_m0": 28_992_920}, 22_820),
    "vww_mobilenet": ("VWW MobileNetV1 0.25, 96x96x3", 7_489_664,
                      {"qemu_m4": 23_776_200, "qemu_m3": 31_959_080, "qemu_m0": 86_905_040}, 100_708),
    "resnet8_cifar": ("IC ResNet-8, 32x32x3", 12_501_632,
                      {"qemu_m4": 29_780_480, "qemu_m3": 41_847_440, "qemu_m0": 97_557_240}, 54_980),
    "ad_autoencoder": ("AD FC autoencoder 640-128x4-8-128x4-640", 264_192,
                       {"qemu_m4": 582_960, "qemu_m3": 955_960, "qemu_m0": 1_763_680}, 2_580),
}
# The speed issue's goal: at most half TFLM + CMSIS-NN's instructions.
TARGET_RATIO = 0.5
