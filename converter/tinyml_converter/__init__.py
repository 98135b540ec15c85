"""tinyml_converter: Keras / int8 TFLite models to .tinyml blobs for the
tinyml MicroPython module, with an offline arena planner and the `tinyml` CLI."""

from .errors import BlobError, ConversionError

__version__ = "0.2.0"

__all__ = ["BlobError", "ConversionError", "__version__"]
