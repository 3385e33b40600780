"""The ``legseg`` command registers only the subcommand it runs (a cold start imports no other command)."""

from __future__ import annotations

import pytest

from legseg_core import cli


def test_a_named_subcommand_is_registered_alone_and_help_still_lists_every_command(capsys):
    assert cli.named_command(["-v", "segment", "scan.nii.gz", "-o", "out"]) == "segment"
    assert cli.named_command(["--help"]) is None and cli.named_command(["segmnet"]) is None
    parser = cli.build_parser("segment")
    commands = next(action for action in parser._actions if action.dest == "command").choices
    assert list(commands) == ["segment"]
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    listed = capsys.readouterr().out
    assert all(name in listed for name in cli.COMMAND_MODULES)


def test_a_mistyped_command_is_refused_with_the_full_list_of_choices(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["segmnet", "scan.nii.gz"])
    assert exit_info.value.code == 2 and "invalid choice: 'segmnet'" in capsys.readouterr().err


#: Modules a cold `legseg segment` has no use for: the DICOM library (NIfTI in and out), the training loop,
#: the store's case handling, SciPy's geometry, plots, benchmarks and MONAI.
NOT_FOR_SEGMENT = ("pydicom", "requests", "legseg_core.training.loop", "legseg_core.store.store",
                   "legseg_core.evaluation.metrics", "scipy.spatial", "matplotlib", "monai",
                   "legseg_core.bench")

_SEGMENT_IN_A_FRESH_PROCESS = """
import json, sys
import torch
torch.set_num_threads(1)
from legseg_core.cli import main
status = main(["segment", sys.argv[1], "-o", sys.argv[2], "--model", sys.argv[3], "--device", "cpu", "--no-progress"])
print(json.dumps({"status": status, "loaded": [name for name in sys.argv[4:] if name in sys.modules]}))
"""


def test_a_cold_segment_imports_nothing_that_other_commands_need(tmp_path, monkeypatch):
    import json
    import subprocess
    import sys

    import torch

    from legseg_core.io import save_image
    from legseg_core.models import ModelCard, build_model, save_checkpoint
    from legseg_core.phantom import make_case

    volume = make_case(seed=1, size="tiny").images["dixon_water"]
    scan = save_image(volume.data, volume, tmp_path / "scan.nii.gz")
    torch.manual_seed(0)
    network = build_model("unet", "lite", channels=(4, 8, 8), strides=[(1, 2, 2), (2, 2, 2)])
    model = save_checkpoint(network, ModelCard.for_network(network), tmp_path / "tiny.pt")
    monkeypatch.setenv("LEGSEG_STORE", str(tmp_path / "no-store"))
    done = subprocess.run([sys.executable, "-c", _SEGMENT_IN_A_FRESH_PROCESS, str(scan), str(tmp_path / "out"),
                           str(model), *NOT_FOR_SEGMENT], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"status": 0, "loaded": []}, done.stderr
    assert (tmp_path / "out" / "scan_labels.nii.gz").is_file()


@pytest.mark.parametrize("package", ["legseg_core.store", "legseg_core.training", "legseg_core.evaluation",
                                     "legseg_core.phantom"])
def test_a_package_whose_names_are_imported_on_first_use_still_offers_every_name(package):
    import importlib

    module = importlib.import_module(package)
    assert all(getattr(module, name) is not None for name in module.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        module.no_such_name  # noqa: B018


def test_the_model_lookup_looks_for_the_stores_own_catalog_file():
    from legseg_core import model_lookup
    from legseg_core.store.catalog import CATALOG_NAME

    assert model_lookup.STORE_CATALOG == CATALOG_NAME


def test_the_console_script_exits_with_the_commands_status_and_skips_the_last_collections(monkeypatch):
    import gc
    from importlib.metadata import entry_points

    (script,) = [point for point in entry_points(group="console_scripts") if point.name == "legseg"]
    assert script.value == "legseg_core.cli:run"
    monkeypatch.setattr(cli, "main", lambda: 3)
    try:
        with pytest.raises(SystemExit) as exit_info:
            cli.run()
        assert exit_info.value.code == 3
        assert gc.get_freeze_count() > 0  # the interpreter's exit does not walk these objects again
    finally:
        gc.unfreeze()


def test_help_imports_neither_torch_nor_scipy_nor_the_image_readers():
    import json
    import subprocess
    import sys

    heavy = ["torch", "scipy", "nibabel", "pydicom", "legseg_core.adapt.adapt", "legseg_core.starter.demo"]
    code = ("import contextlib, io, json, sys\nfrom legseg_core.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
            f"print(json.dumps({{'loaded': [m for m in {heavy!r} if m in sys.modules], 'help': out.getvalue()}}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    assert result["loaded"] == [], done.stderr
    assert "adapt" in result["help"] and "segment" in result["help"]
