"""The sha256 of a file, read in blocks: one function for the store, the model registry and model files.

It lives outside :mod:`legseg_core.store` so that :mod:`legseg_core.models`, which must not import the
store, uses the same code.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """sha256 (hex) of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
