"""Commands and benchmarks of the GUI reach `legseg` through entry points; without the GUI they say so in one line."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from legseg_core.cli import build_parser
from legseg_core.extensions import BENCHMARKS_GROUP, COMMANDS_GROUP, extension_points

WITHOUT_GUI = textwrap.dedent("""
    import importlib.abc, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("legseg_gui", "legseg_napari", "qtpy", "PySide6", "napari"):
                raise ImportError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, Block())
    from legseg_core.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def test_the_gui_declares_the_app_command_and_its_benchmarks() -> None:
    assert [point.name for point in extension_points(COMMANDS_GROUP)] == ["app"]
    assert {point.name for point in extension_points(BENCHMARKS_GROUP)} == {"app", "napari_docks", "slice_view"}
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert "app" in commands and "--screenshot" in commands["app"].format_help()


def test_without_the_gui_the_app_command_and_a_gui_benchmark_fail_in_one_line() -> None:
    for arguments in (["app", "--store", "/nowhere"], ["bench", "slice_view"]):
        result = subprocess.run([sys.executable, "-c", WITHOUT_GUI, *arguments], capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "is not available" in lines[0] and "legseg_gui" in lines[0], result.stderr
        assert "Traceback" not in result.stderr
