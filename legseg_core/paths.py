"""One check of every output path a command will write, run before any long work.

:func:`check_output_file` and :func:`check_output_folder` refuse, with one message naming the
path, what would fail late or destroy data: an output that is one of the command's inputs, a
folder where a file is wanted (or a file where a folder is wanted), a parent that is a file, a
folder that cannot be written, a name longer than the file system takes, a special file (FIFO,
device) in the way. A missing folder is fine when the command creates it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from legseg_core.errors import InputPathError

#: Longest file name (bytes) most file systems take; os.pathconf gives the true value where it can.
DEFAULT_NAME_MAX = 255


class OutputPathError(InputPathError):
    """An output path cannot be written, or writing it would destroy an input."""


def check_output_file(path: str | Path, *, inputs: Iterable[str | Path] = (), what: str = "output",
                      create_folder: bool = False, suffixes: tuple[str, ...] = ()) -> Path:
    """Refuse an output file path that cannot be written or is one of ``inputs``; return it as a Path.

    ``create_folder`` accepts a missing parent folder (the command creates it); ``suffixes``
    are the accepted name endings (compared ignoring letter case).
    """
    path = Path(path).expanduser()
    if suffixes and not path.name.lower().endswith(suffixes):
        raise OutputPathError(f"{path}: the {what} must end in {' or '.join(suffixes)}")
    _check_not_an_input(path, inputs, what)
    _check_name_length(path, what)
    if path.is_dir():
        raise OutputPathError(f"{path}: the {what} is a folder; give a file name")
    if path.exists() and not path.is_file():
        raise OutputPathError(f"{path}: the {what} exists and is not a regular file")
    _check_folder_writable(path.parent, what, create_folder)
    return path


def check_output_folder(path: str | Path, *, inputs: Iterable[str | Path] = (), what: str = "output folder",
                        must_be_empty: bool = False) -> Path:
    """Refuse an output folder that cannot be created or written, or is an input file; return it."""
    path = Path(path).expanduser()
    _check_not_an_input(path, inputs, what)
    _check_name_length(path, what)
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{path}: the {what} exists and is not a folder")
    if path.is_dir():
        _check_writable(path, what)
        if must_be_empty and any(path.iterdir()):
            raise OutputPathError(f"{path}: the {what} is not empty; give a new or an empty folder")
        return path
    _check_folder_writable(path.parent, what, create=True)
    return path


def same_file(first: str | Path, second: str | Path) -> bool:
    """True when two paths name the same file or folder (through links, ``..`` or letter case)."""
    first, second = Path(first).expanduser(), Path(second).expanduser()
    try:
        if first.exists() and second.exists():
            return os.path.samefile(first, second)
    except OSError:
        pass
    return os.path.normcase(os.path.abspath(first)) == os.path.normcase(os.path.abspath(second))


def _check_not_an_input(path: Path, inputs: Iterable[str | Path], what: str) -> None:
    for source in inputs:
        if source is not None and same_file(path, source):
            raise OutputPathError(f"{path}: the {what} is also an input; writing it would destroy that input. "
                                  "Give another name")


def _check_name_length(path: Path, what: str) -> None:
    limit = _name_max(path)
    for part in path.parts:
        if len(os.fsencode(part)) > limit:
            raise OutputPathError(f"{path}: the {what} has a name longer than {limit} bytes, which the file "
                                  "system refuses")


def _name_max(path: Path) -> int:
    folder = _nearest_existing(path.parent)
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return DEFAULT_NAME_MAX


def _nearest_existing(folder: Path) -> Path:
    folder = Path(os.path.abspath(folder))
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _check_folder_writable(folder: Path, what: str, create: bool) -> None:
    folder = Path(os.path.abspath(folder))
    if folder.is_dir():
        _check_writable(folder, what)
        return
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise OutputPathError(f"{folder}: the folder of the {what} cannot be made, {existing} is a file")
    if not create:
        raise OutputPathError(f"{folder}: the folder of the {what} does not exist")
    _check_writable(existing, what)


def _check_writable(folder: Path, what: str) -> None:
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"{folder}: cannot write the {what} there (permission denied)")
