"""Every error tinyml raises on purpose, and the CLI's exit code for each.

The CLI prints one line, `tinyml: error: <message>`, and exits with the
class's `exit_code`; anything not derived from TinymlError is a bug in
tinyml (exit 70). The README lists the codes.
"""

EXIT_OK = 0
EXIT_CONVERSION = 1
EXIT_USAGE = 2
EXIT_NO_FIT = 3
EXIT_BOARD = 4
EXIT_MISSING = 5
EXIT_INTERNAL = 70  # sysexits' EX_SOFTWARE


class TinymlError(Exception):
    """Base of tinyml's own errors: the message says what was wrong and what to try."""

    exit_code = EXIT_CONVERSION


class UsageError(TinymlError):
    """Bad arguments, or an input file that cannot be read or is not what it claims."""

    exit_code = EXIT_USAGE


class ConversionError(TinymlError):
    """The model cannot be converted: the message names the op (and the Keras
    layer when the tensor names reveal it) and says what is supported."""


class ModelFileError(ConversionError):
    """The input model file is unreadable or not a valid model."""

    exit_code = EXIT_USAGE


class BlobError(TinymlError, ValueError):
    """A .tinyml blob is malformed (bad magic, version, CRC, sizes...)."""

    exit_code = EXIT_USAGE


class ModelRefused(TinymlError, ValueError):
    """The C core refused a blob at load, or a kernel refused to run."""

    exit_code = EXIT_USAGE

    def __init__(self, status: int, status_name: str, op_index: int, opcode_name: str, detail: str):
        self.status = status
        self.status_name = status_name
        self.op_index = op_index
        self.opcode_name = opcode_name
        self.detail = detail
        where = f" at op {op_index} ({opcode_name})" if op_index >= 0 else ""
        super().__init__(f"{status_name}{where}: {detail}")


class DoesNotFit(TinymlError):
    exit_code = EXIT_NO_FIT


class BoardError(TinymlError, RuntimeError):
    """A board (real or emulated) could not be reached, lost its link, or
    raised while running what we sent it."""

    exit_code = EXIT_BOARD


class MissingTool(TinymlError, RuntimeError):
    """Something this command needs is not installed or not built:
    TensorFlow, a firmware image, QEMU, the compiled C core."""

    exit_code = EXIT_MISSING


class CoreUnavailable(MissingTool):
    """The compiled C core cannot be found or loaded."""
