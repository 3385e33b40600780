"""`legseg info` and the command line's error contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from legseg_core.cli import main


def test_info_json_on_the_real_labels(real_data: Path, capsys) -> None:
    assert main(["info", str(real_data / "labels.nii.gz"), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["shape"] == [25, 160, 160]
    assert facts["spacing"] == [6.0, 3.0, 3.0]
    assert facts["source_orientation"] == "RAS"
    assert facts["dtype"] == "uint8" and facts["max"] == 26.0


def test_info_text_on_a_4d_scan(real_data: Path, capsys) -> None:
    assert main(["info", str(real_data / "t2_mese.nii.gz"), "--frame", "mean"]) == 0
    out = capsys.readouterr().out
    assert "mean of 18 frames" in out and "[13, 160, 160]" in out


def test_bad_input_prints_one_message_and_no_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "missing.nii.gz"
    result = subprocess.run([sys.executable, "-m", "legseg_core.cli", "info", str(missing)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert f"legseg: error: {missing}: no such file or folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_frame_value(real_data: Path, capsys) -> None:
    assert main(["info", str(real_data / "t2_mese.nii.gz"), "--frame", "last"]) == 2
    assert "--frame must be a whole number or 'mean', got 'last'" in capsys.readouterr().err


def test_help_lists_the_subcommands(capsys) -> None:
    import pytest

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "info" in out and "bench" in out
