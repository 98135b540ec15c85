# Malformed model buffers raise ValueError (never crash), and the firmware
# keeps running afterwards. Blobs are built by hand from the documented
# header layout (docs/blob-format.md).
import struct
import tinyml

MAGIC = 0x424C4D54


def header(magic=MAGIC, version=1, header_size=64, total=64, crc=0, arena=0,
           tensors=0, ops=0, n_in=0, n_out=0):
    return struct.pack("<IHHIIIHHBBH9I", magic, version, header_size, total, crc, arena,
                       tensors, ops, n_in, n_out, 0, 64, 64, 64, 0, 64, 0, 64, 0, 0)


cases = [
    ("empty", b""),
    ("short", b"TMLB"),
    ("zeros", bytes(64)),
    ("wrong magic", header(magic=0x12345678)),
    ("newer version", header(version=99)),
    ("bad header size", header(header_size=8)),
    ("total past end", header(total=1 << 20)),
    ("bad crc", header(crc=0xDEADBEEF)),
    ("huge counts", header(tensors=65535, ops=65535, n_in=255, n_out=255)),
]
for name, blob in cases:
    for variant in (bytes(blob), bytearray(blob)):
        try:
            tinyml.load(variant)
            print(name, "loaded?!")
        except ValueError:
            print(name, "ValueError")
        except Exception as e:
            print(name, "unexpected", type(e).__name__, e)

# A memoryview slice that starts off a word boundary is still just bad data.
buf = bytearray(3) + header(version=99)
try:
    tinyml.load(memoryview(buf)[3:])
except ValueError:
    print("unaligned ValueError")

try:
    tinyml.load(12345)
except TypeError:
    print("int TypeError")

print(sum(range(10)))
