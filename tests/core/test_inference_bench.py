"""``legseg bench inference``: the worker's figures and the targets (no timing is asserted)."""

from __future__ import annotations

import argparse

import pytest

from legseg_core.bench import BenchResult
from legseg_core.bench import inference as bench
from legseg_core.errors import LegsegError
from legseg_core.io import save_image
from legseg_core.phantom import make_case


def test_worker_reports_every_figure(tmp_path):
    volume = make_case(seed=1, size="tiny").images["dixon_water"]
    scan = save_image(volume.data, volume, tmp_path / "scan.nii.gz")
    job = dict(arch="densenet", preset="lite", scan=str(scan), device="cpu", precision="fp32", batch_size=2,
               repeats=1, out=str(tmp_path / "labels.nii.gz"),
               overrides=dict(first_channels=4, growth_rate=2, layers=[1, 1, 1, 1]))
    row = bench.measure(job)
    assert row["device"] == "cpu" and row["precision"] == "fp32" and row["patches"] == 2
    assert row["parameters"] > 0 and row["end_to_end_s"] > 0 and row["forward_s"] > 0 and row["peak_mib"] > 0
    assert row["patches_per_s"] == pytest.approx(2 / row["forward_s"], rel=0.02)
    assert (tmp_path / "labels.nii.gz").is_file()


def test_targets_ratio_everywhere_and_five_seconds_for_the_lite_unet_on_90_cpu_slices():
    result = BenchResult("inference")
    row = {"end_to_end_s": 4.0, "forward_s": 3.5, "device": "cpu"}
    bench.add_targets(result, row, "unet", "lite", 90)
    bench.add_targets(result, {**row, "device": "cuda"}, "unet", "lite", 90)
    bench.add_targets(result, row, "resnet", "lite", 90)
    assert [t["what"] for t in result.targets] == [
        "unet/lite 90 slices: end to end / forward", "unet/lite 90 slices end to end (CPU)",
        "unet/lite 90 slices: end to end / forward", "resnet/lite 90 slices: end to end / forward"]
    assert all(t["met"] for t in result.targets)


def test_quick_settings_run_only_the_lite_presets_and_bad_settings_are_refused():
    quick = bench.quick_arguments()
    assert quick.preset == ["lite"] and quick.arch == ["unet", "resnet", "densenet"] and quick.agreement == 0
    bad = argparse.Namespace(**{**vars(quick), "repeats": 0})
    with pytest.raises(LegsegError, match=r"--repeats 0 must be >= 1"):
        bench.run(bad)
    with pytest.raises(LegsegError, match=r"unknown device 'tpu'"):
        bench.run(argparse.Namespace(**{**vars(quick), "device": "tpu"}))
