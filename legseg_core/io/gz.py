"""Gzip in one call, with ISA-L's igzip when it is installed (it inflates about twice and deflates
many times as fast as zlib), else with the standard library. Both write and read plain gzip.

``ERRORS`` are the exceptions a damaged stream raises, for callers that turn them into a clear
message naming the file.
"""

from __future__ import annotations

import gzip
import io
import zlib
from typing import BinaryIO

try:
    from isal import igzip as _engine
    from isal.isal_zlib import error as _engine_error
except ImportError:  # a platform without the isal wheel: the standard library does the same, slower
    _engine, _engine_error = gzip, zlib.error

#: Raised for a damaged or truncated gzip stream.
ERRORS: tuple[type[BaseException], ...] = (zlib.error, _engine_error, EOFError, OSError)

#: Fast compression, as nibabel writes .nii.gz files: labels and masks shrink nearly as much as at
#: higher levels.
LEVEL = 1


def reader(data: bytes) -> gzip.GzipFile:
    """A file object that reads the decompressed bytes of the gzip stream ``data``, decompressing as it reads
    (a forward seek decompresses and skips)."""
    stream: gzip.GzipFile = _engine.GzipFile(fileobj=io.BytesIO(data), mode="rb")
    return stream


def decompress(data: bytes) -> bytes:
    """The bytes of a whole gzip stream."""
    return _engine.decompress(data)


def compress(data: bytes, level: int = LEVEL) -> bytes:
    """A gzip stream of ``data``."""
    return _engine.compress(data, compresslevel=level)


def writer(handle: BinaryIO, level: int = LEVEL) -> gzip.GzipFile:
    """A file object that writes a gzip stream into ``handle`` as data arrive (close it to finish the stream;
    ``handle`` stays open); no file name and time 0 in its header, so the same data give the same bytes."""
    stream: gzip.GzipFile = _engine.GzipFile(filename="", mode="wb", compresslevel=level, fileobj=handle, mtime=0)
    return stream
