"""Exceptions raised by the converter, the blob reader and the CLI."""


class ConversionError(Exception):
    """The model cannot be converted: the message names the op (and the Keras
    layer when the tensor names reveal it) and says what is supported."""


class BlobError(ValueError):
    """A .tinyml blob is malformed (bad magic, version, CRC, sizes...)."""


class ModelFileError(ConversionError):
    """The input model file is unreadable or not a valid model (CLI exit 2)."""
