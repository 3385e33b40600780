"""legseg_core is importable where no GUI toolkit may be imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKER = textwrap.dedent("""
    import importlib, importlib.abc, pkgutil, sys
    FORBIDDEN = ("qtpy", "PySide6", "PyQt5", "PyQt6", "superqt", "napari", "legseg_gui", "legseg_napari")

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in FORBIDDEN:
                raise ImportError(f"legseg_core imported the GUI package {name}")
            return None

    sys.meta_path.insert(0, Block())
    import legseg_core
    names = [m.name for m in pkgutil.walk_packages(legseg_core.__path__, "legseg_core.")]
    for name in names:
        importlib.import_module(name)
    from legseg_core.cli import build_parser
    build_parser()
    print(len(names))
""")


def test_every_core_module_imports_without_qt_or_napari() -> None:
    result = subprocess.run([sys.executable, "-c", BLOCKER], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 10
