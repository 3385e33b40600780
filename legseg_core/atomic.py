"""One way to write a file: whole or not at all.

:func:`write_atomically` writes to a hidden temporary name in the target folder
(``.tmp-<random>-<name>``), flushes and fsyncs the file, optionally makes it read-only, renames
it into place and fsyncs the folder, so a crash or a power cut at any moment leaves either the
previous file or the new one whole, never a torn one, and at most a stray temporary file that
starts with :data:`TEMPORARY_PREFIX`. Every writer of the project goes through it (stored
NIfTI files, autosaves, run checkpoints, patch caches, model files, command outputs).
"""

from __future__ import annotations

import io
import os
import stat
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

#: Prefix of temporary files; anything with it is a leftover of an interrupted write.
TEMPORARY_PREFIX = ".tmp-"

Payload = bytes | Callable[[BinaryIO], object]


def temporary_name(path: Path) -> Path:
    """A fresh hidden name beside ``path`` for its temporary file."""
    return path.parent / f"{TEMPORARY_PREFIX}{uuid.uuid4().hex}-{path.name[:160]}"


def write_atomically(path: str | Path, payload: Payload, *, read_only: bool = False, overwrite: bool = True,
                     make_folder: bool = False) -> Path:
    """Write ``payload`` (bytes, or a function that writes into a binary handle) to ``path``.

    ``read_only`` makes the file read-only before it appears; ``overwrite=False`` refuses to
    replace an existing file (:class:`FileExistsError`); ``make_folder`` creates missing folders.
    """
    path = Path(path)
    if make_folder:
        path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_name(path)
    try:
        with open(temporary, "xb") as handle:
            if isinstance(payload, (bytes, bytearray, memoryview)):
                handle.write(payload)
            else:
                payload(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if read_only:
            os.chmod(temporary, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        if not overwrite and path.exists():
            raise FileExistsError(f"{path} exists already")
        os.replace(temporary, path)
    except OSError as error:  # named after the file asked for, not its temporary name
        remove_file(temporary)
        if error.errno is None:
            raise
        raise type(error)(error.errno, error.strerror, str(path)) from None
    except BaseException:
        remove_file(temporary)
        raise
    sync_folder(path.parent)
    return path


def write_text_atomically(path: str | Path, text: str, **options: bool) -> Path:
    """:func:`write_atomically` for UTF-8 text."""
    return write_atomically(path, text.encode("utf-8"), **options)


@contextmanager
def atomic_text_file(path: str | Path, **options: bool) -> Iterator[io.StringIO]:
    """A text handle (newlines as written, for csv) whose contents replace ``path`` atomically when the block
    ends without an error; nothing is written otherwise."""
    handle = io.StringIO(newline="")
    yield handle
    write_text_atomically(path, handle.getvalue(), **options)


def remove_file(path: Path) -> None:
    """Delete a file even if it is read-only (Windows refuses to delete read-only files); no error if absent."""
    try:
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        path.unlink()
    except FileNotFoundError:
        pass


def sync_folder(folder: Path) -> None:
    """Flush a folder's entry list so a rename survives a power cut (no-op where unsupported)."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
