# Every board we test has a working clock (the qemu boards get theirs from
# ports/qemu/qemu_ticks.c): benchmarks and the demo's timings rely on it.
import sys
import time

t0 = time.ticks_us()
c0 = time.ticks_cpu()
s = 0
for i in range(2000):
    s += i
elapsed = time.ticks_diff(time.ticks_us(), t0)
# The unix port has no cycle counter (ticks_cpu() stays 0); ours count.
cycles = time.ticks_diff(time.ticks_cpu(), c0)
print(s, elapsed > 0, cycles > 0 or sys.platform != "qemu")
m0 = time.ticks_ms()
time.sleep_ms(3)
print(time.ticks_diff(time.ticks_ms(), m0) >= 3)
