"""Where the store lives: ``--store PATH``, then ``$LEGSEG_STORE``, then the user's data folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: Environment variable that overrides the default store location.
STORE_ENVIRONMENT_VARIABLE = "LEGSEG_STORE"


def user_data_directory() -> Path:
    """The platform's per-user data folder for LegSeg (no store inside it is created here).

    Linux and other Unix: ``$XDG_DATA_HOME/legseg`` (default ``~/.local/share/legseg``);
    macOS: ``~/Library/Application Support/legseg``; Windows: ``%LOCALAPPDATA%\\legseg``.
    """
    home = Path.home()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.environ.get("APPDATA") or str(home / "AppData" / "Local")
        return Path(base) / "legseg"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "legseg"
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    base_path = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "share"
    return base_path / "legseg"


def default_store_path() -> Path:
    """The store used when no path is given: ``$LEGSEG_STORE`` or ``<user data folder>/store``."""
    from_environment = os.environ.get(STORE_ENVIRONMENT_VARIABLE, "").strip()
    if from_environment:
        return Path(from_environment).expanduser()
    return user_data_directory() / "store"


def resolve_store_path(path: str | os.PathLike[str] | None = None) -> Path:
    """An explicit path wins over ``$LEGSEG_STORE``, which wins over the user data folder."""
    if path is not None and str(path).strip():
        return Path(path).expanduser()
    return default_store_path()
