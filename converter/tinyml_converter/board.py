"""A MicroPython board on a serial port (or an emulator's pty), through
mpremote's transport: raw-paste flow control, file writes and hashes done the
way `mpremote cp` does them. This module only turns the transport's failures
into three errors that say what happened and where:

- ReplError: the port cannot be opened, or no MicroPython raw REPL answers;
- ConnectionLost: the board stopped answering partway through;
- RemoteError: code run on the board raised (the message is the last line of
  its traceback).

All three are errors.BoardError (exit code 4).
"""

from __future__ import annotations

import contextlib
import io
import os
import struct

from mpremote.transport import TransportError, TransportExecError
from mpremote.transport_serial import SerialTransport

from .errors import BoardError as BoardFailure

# mpremote opens the port with blocking reads and reads a pty byte by byte,
# so a board that went quiet would hang it; with a read timeout its own
# "nothing for N seconds" checks apply.
READ_TIMEOUT = 5.0

# Bytes of file data per exec. Each chunk goes as a bytes literal (up to four
# characters a byte) that the board compiles before writing it, so this
# bounds the RAM a write takes on the smallest boards; larger chunks mean
# fewer round trips (on the emulated Pico 1024 beat mpremote's default 256
# by a quarter, and 4096 was slower again).
WRITE_CHUNK = 1024


class ReplError(BoardFailure):
    """The port cannot be opened, or what answers on it is not a MicroPython raw REPL."""


class ConnectionLost(ReplError):
    """The board stopped answering partway through: cable pulled, board reset or hung."""


class RemoteError(BoardFailure):
    """Code run on the board raised; the message is the last line of its traceback."""


def _last_line(traceback: str) -> str:
    lines = [ln for ln in traceback.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "error on the board"


def _why_unopenable(port: str) -> str:
    # mpremote keeps only "failed to access <port>"; these are the usual reasons.
    if port.startswith("/") and not os.path.exists(port):
        return "no such port (is the board plugged in?)"
    if port.startswith("/") and not os.access(port, os.R_OK | os.W_OK):
        return "permission denied (on Linux, join the dialout group and log in again)"
    return "it may be in use by another program (Thonny, a serial monitor, mpremote)"


class Board:
    """A board in its raw REPL, soft-reset so that its heap is free and no
    program holds the files we are about to replace."""

    def __init__(self, port: str, *, baudrate: int = 115200, open_transport=SerialTransport):
        self.port = port
        self._has = {}
        try:
            self._transport = open_transport(port, baudrate=baudrate, timeout=READ_TIMEOUT)
        except TransportError:
            raise ReplError(f"cannot open {port}: {_why_unopenable(port)}") from None
        said = io.StringIO()
        try:
            # mpremote prints what came back instead of the raw REPL banner.
            with contextlib.redirect_stdout(said):
                self._transport.enter_raw_repl(soft_reset=True)
        except (TransportError, OSError, struct.error):
            self.close()
            answer = said.getvalue().strip()
            heard = f"it said {answer[-120:]}" if answer not in ("", "b''") else "nothing came back"
            raise ReplError(f"{port}: no MicroPython raw REPL answers ({heard}); is the board "
                            "running MicroPython, and is no other program using the port?") from None

    def close(self):
        """Back to the friendly REPL, and let go of the port; a link that is
        already gone is no error here."""
        with contextlib.suppress(OSError):
            self._transport.exit_raw_repl()
        with contextlib.suppress(OSError):
            self._transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @contextlib.contextmanager
    def _talking(self):
        try:
            yield
        except TransportExecError as exc:
            raise RemoteError(_last_line(exc.error_output)) from None
        except OSError as exc:
            # mpremote re-raises the board's own OSError (no such file, disk
            # full) as a host OSError while handling the TransportExecError.
            if isinstance(exc.__context__, TransportExecError):
                raise RemoteError(_last_line(exc.__context__.error_output)) from None
            raise ConnectionLost(f"{self.port}: connection lost ({exc})") from None
        except struct.error:
            # A reply cut short: mpremote unpacks the raw-paste header unchecked.
            raise ConnectionLost(f"{self.port}: connection lost (the board stopped answering)") from None
        except TransportError as exc:
            raise ConnectionLost(f"{self.port}: connection lost ({exc})") from None

    def exec(self, code: str, timeout: float = 10) -> str:
        """Run code on the board and return what it printed. timeout: the
        longest the board may stay silent (a long computation printing at
        its end needs more than the default)."""
        with self._talking():
            out, err = self._transport.exec_raw(code, timeout=timeout)
        if err:
            raise RemoteError(_last_line(err.decode(errors="replace")))
        return out.decode(errors="replace")

    def stream(self, code: str, on_line, timeout: float = 10) -> None:
        """Run code on the board and hand each line it prints, as it comes,
        to on_line(text) (without the line end). timeout: the longest the
        board may stay silent. An exception raised by on_line (Ctrl-C)
        stops the reading and leaves the program running: interrupt()
        stops that."""
        pending = bytearray()

        def consume(byte):
            if byte == b"\x04":  # the end of the output: follow() passes it on too
                return
            if byte == b"\n":
                on_line(pending.decode(errors="replace").rstrip("\r"))
                pending.clear()
            else:
                pending.extend(byte)

        with self._talking():
            self._transport.exec_raw_no_follow(code)
            _, err = self._transport.follow(timeout, data_consumer=consume)
        if pending:
            on_line(pending.decode(errors="replace").rstrip("\r"))
        if err:
            raise RemoteError(_last_line(err.decode(errors="replace")))

    def interrupt(self) -> None:
        """Stop what runs on the board (Ctrl-C), leaving it in the raw REPL."""
        with contextlib.suppress(OSError, TransportError):
            self._transport.serial.write(b"\x03")
            # The board ends the interrupted run as any other: output, then
            # the traceback, each closed by Ctrl-D; the raw REPL prompt that
            # follows is left for the next exec to find, as follow() leaves it.
            self._transport.read_until(1, b"\x04", timeout=10)
            self._transport.read_until(1, b"\x04", timeout=10)

    def has(self, module: str, name: str) -> bool:
        """Whether the firmware's `module` has `name`: ports leave parts out."""
        key = (module, name)
        if key not in self._has:
            self._has[key] = self.exec(f"try:\n import {module}\n print(hasattr({module}, {name!r}))\n"
                                       "except ImportError:\n print(False)").strip() == "True"
        return self._has[key]

    def stat(self, path: str) -> os.stat_result:
        with self._talking():
            return self._transport.fs_stat(path)

    def write_file(self, path: str, data: bytes, progress=None):
        """Write `path` on the board; progress(done, total) after each chunk."""
        with self._talking():
            self._transport.fs_writefile(path, data, chunk_size=WRITE_CHUNK, progress_callback=progress)

    def sha256(self, path: str) -> bytes | None:
        """The file's SHA-256 worked out on the board, or None when the
        firmware has no hashlib.sha256 (where mpremote would read the whole
        file back instead)."""
        if not self.has("hashlib", "sha256"):
            return None
        with self._talking():
            return self._transport.fs_hashfile(path, "sha256")

    def crc32(self, path: str) -> int | None:
        """The file's CRC-32 worked out on the board, or None when the
        firmware has no binascii.crc32."""
        if not self.has("binascii", "crc32"):
            return None
        out = self.exec(f"import binascii\nc = 0\nwith open({path!r}, 'rb') as f:\n while True:\n"
                        "  b = f.read(512)\n  if not b:\n   break\n  c = binascii.crc32(b, c)\nprint(c)")
        return int(out) & 0xFFFFFFFF
