"""A small client for MicroPython's raw REPL over a serial port (or pty).

The raw REPL is MicroPython's machine interface: Ctrl-A enters it, the board
answers "raw REPL; CTRL-B to exit" and a prompt '>'; code sent and ended with
Ctrl-D is compiled and run, and the board answers "OK", the output, Ctrl-D,
the error output, Ctrl-D and '>' again. That is all `tinyml deploy` and
`tinyml run --target <port>` need, so we speak it directly rather than
depending on a tool's internal API.
"""

from __future__ import annotations

import time


class ReplError(RuntimeError):
    """The board did not answer as a MicroPython raw REPL does."""


class BoardError(RuntimeError):
    """Code sent to the board raised; the message is the board's traceback tail."""


class RawRepl:
    def __init__(self, port: str, baudrate: int = 115200, timeout: float = 10.0):
        import serial  # pyserial, pinned in requirements.txt

        self.timeout = timeout
        try:
            self.serial = serial.Serial(port, baudrate=baudrate, timeout=0.05)
        except (serial.SerialException, OSError) as exc:
            raise ReplError(f"cannot open {port}: {exc}") from None
        self._enter()

    def close(self):
        if not self.serial.is_open:  # the link already went away
            return
        try:
            self.serial.write(b"\x02")  # back to the friendly REPL
        finally:
            self.serial.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read_until(self, ending: bytes, timeout: float) -> bytes:
        data = b""
        deadline = time.monotonic() + timeout
        while not data.endswith(ending):
            chunk = self.serial.read(1)
            if chunk:
                data += chunk
                deadline = time.monotonic() + timeout  # the board is still talking
            elif time.monotonic() > deadline:
                tail = data[-80:].decode(errors="replace")
                raise ReplError(f"no {ending!r} from the board within {timeout:.0f} s (last output: {tail!r})")
        return data

    def _enter(self):
        # Ctrl-C twice stops a running program; Ctrl-A enters the raw REPL.
        self.serial.write(b"\r\x03\x03")
        time.sleep(0.1)
        self.serial.reset_input_buffer()
        self.serial.write(b"\r\x01")
        self._read_until(b"raw REPL; CTRL-B to exit\r\n>", self.timeout)

    def exec(self, code: str, timeout: float | None = None) -> str:
        """Run code on the board; returns its printed output, raises BoardError."""
        data = code.encode()
        # Small chunks: a board's UART/USB receive buffer is a few hundred bytes.
        for i in range(0, len(data), 256):
            self.serial.write(data[i:i + 256])
            time.sleep(0.005)
        self.serial.write(b"\x04")
        ok = self._read_until(b"OK", self.timeout)
        if not ok.endswith(b"OK"):
            raise ReplError(f"board did not accept the code: {ok!r}")
        out = self._read_until(b"\x04", timeout or self.timeout)[:-1]
        err = self._read_until(b"\x04", self.timeout)[:-1]
        self._read_until(b">", self.timeout)
        if err:
            lines = err.decode(errors="replace").strip().splitlines()
            raise BoardError(lines[-1] if lines else "error on the board")
        return out.decode(errors="replace")
