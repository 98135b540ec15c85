# Run by the unix MicroPython firmware: build a littlefs2 image of the Pico's
# filesystem holding the given files, the same way the board's _boot.py would
# format and fill it (MicroPython's own littlefs code, so the format matches).
#
#   micropython mkfs_lfs2.py OUT.img BLOCK_SIZE BLOCK_COUNT FILE [FILE ...]
#
# Each FILE lands in the image's root under its own basename.
import sys
import vfs


class RamBlockDevice:
    def __init__(self, block_size, block_count):
        self.block_size = block_size
        self.data = bytearray(b"\xff" * (block_size * block_count))
        self.block_count = block_count

    def readblocks(self, block, buf, offset=0):
        start = block * self.block_size + offset
        buf[:] = self.data[start:start + len(buf)]

    def writeblocks(self, block, buf, offset=None):
        if offset is None:
            # Whole-block write: erase first, as a flash would.
            for i in range(len(buf) // self.block_size):
                self.ioctl(6, block + i)
            offset = 0
        start = block * self.block_size + offset
        self.data[start:start + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:
            return self.block_count
        if op == 5:
            return self.block_size
        if op == 6:
            start = arg * self.block_size
            self.data[start:start + self.block_size] = b"\xff" * self.block_size
            return 0
        return None


def main():
    out, block_size, block_count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    bdev = RamBlockDevice(block_size, block_count)
    # progsize as in the rp2 port's _boot.py: its flash programs 256-byte pages.
    vfs.VfsLfs2.mkfs(bdev, progsize=256)
    fs = vfs.VfsLfs2(bdev, progsize=256)
    for path in sys.argv[4:]:
        name = path.rsplit("/", 1)[-1]
        with open(path, "rb") as src:
            data = src.read()
        with fs.open(name, "wb") as dst:
            dst.write(data)
    with open(out, "wb") as f:
        f.write(bdev.data)


main()
