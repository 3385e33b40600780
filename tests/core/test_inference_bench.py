"""``legseg bench inference``: stage figures of one run, cold runs, scans, targets (no timing is asserted)."""

from __future__ import annotations

import argparse

import nibabel as nib
import pytest
import torch

from legseg_core.bench import inference as bench
from legseg_core.bench.inference_runs import cold_runs, ratios, stage_order, warm_runs
from legseg_core.bench.inference_scans import parse_size, write_sized_scan
from legseg_core.errors import LegsegError
from legseg_core.inference import STAGES
from legseg_core.io import load_volume, save_image
from legseg_core.models import ModelCard, build_model, save_checkpoint
from legseg_core.phantom import make_case


@pytest.fixture(scope="module")
def tiny_job(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    volume = make_case(seed=1, size="tiny").images["dixon_water"]
    scan = save_image(volume.data, volume, folder / "scan.nii.gz")
    torch.manual_seed(0)
    network = build_model("densenet", "lite", first_channels=4, growth_rate=2, layers=[1, 1, 1, 1])
    model = save_checkpoint(network, ModelCard.for_network(network), folder / "tiny.pt")
    return dict(model=str(model), scan=str(scan), device="cpu", precision="fp32", batch_size=2, repeats=2,
                out=str(folder / "labels.nii.gz"))


def test_every_stage_of_each_run_is_timed_and_the_ratio_is_taken_within_each_run(tiny_job):
    figures = warm_runs(tiny_job)
    assert stage_order() == ("read", "canonical orientation", *STAGES, "write")
    assert set(figures["stages"]) == set(stage_order())
    assert all(len(samples) == 2 for samples in figures["stages"].values()) and len(figures["end_to_end"]) == 2
    for run, (total_wall, _) in enumerate(figures["end_to_end"]):
        stage_walls = [figures["stages"][name][run][0] for name in stage_order()]
        assert all(wall >= 0 for wall in stage_walls) and sum(stage_walls) <= total_wall * 1.001
    each = ratios(figures)
    assert each == [total[0] / forward[0] for total, forward in zip(figures["end_to_end"], figures["stages"]["forward"])]
    assert all(ratio >= 1.0 for ratio in each)  # a run contains its own forward
    assert figures["patches"] == 2 and figures["device"] == "cpu" and figures["peak_mib"] > 0
    rows = bench.stage_rows("densenet/lite", "tiny", figures)
    assert [row["stage"] for row in rows] == [*stage_order(), "end to end (warm)"]
    assert rows[-1]["ratio"] >= 1.0 and rows[-1]["share_pct"] == 100.0


def test_a_cold_run_is_a_fresh_legseg_segment_process_that_writes_the_labels(tiny_job, tmp_path):
    out = tmp_path / "cold_labels.nii.gz"
    (wall, cpu), = cold_runs(tiny_job["model"], tiny_job["scan"], str(out), device="cpu", precision="fp32",
                             repeats=1)
    assert wall > 0 and cpu > 0 and out.is_file()
    with pytest.raises(LegsegError, match="cold `legseg segment` of .*missing.nii.gz failed"):
        cold_runs(tiny_job["model"], str(tmp_path / "missing.nii.gz"), str(out), device="cpu", precision="fp32",
                  repeats=1)


def test_scan_sizes_are_parsed_and_a_4d_scan_is_written_with_its_echoes(tmp_path):
    assert parse_size("512x512x200") == (512, 512, 200) and parse_size("256X256x40x18") == (256, 256, 40, 18)
    for bad in ("512x512", "axbxc", "16x512x200", "512x512x200x0"):
        with pytest.raises(LegsegError, match=f"--scan '{bad}'"):
            parse_size(bad)
    path = write_sized_scan(tmp_path, (96, 80, 10, 3))
    image = nib.load(path)
    assert image.shape == (96, 80, 10, 3) and image.get_data_dtype() == "int16"
    echoes = image.get_fdata()
    assert echoes[..., 0].max() > echoes[..., 1].max() > echoes[..., 2].max() > 0  # decaying echoes
    assert load_volume(path).shape == (10, 80, 96)  # frame 0, canonical [z, y, x]


def test_targets_and_bad_settings():
    quick = bench.quick_arguments()
    assert quick.preset == ["lite"] and quick.arch == ["unet", "resnet", "densenet"] and quick.agreement == 0
    with pytest.raises(LegsegError, match=r"--repeats 0 must be >= 1"):
        bench.run(argparse.Namespace(**{**vars(quick), "repeats": 0}))
    with pytest.raises(LegsegError, match=r"unknown device 'tpu'"):
        bench.run(argparse.Namespace(**{**vars(quick), "device": "tpu"}))
    with pytest.raises(LegsegError, match=r"--scan '512'"):
        bench.run(argparse.Namespace(**{**vars(quick), "scan": ["512"]}))


def test_monai_runs_the_same_network_on_the_same_legs_and_agrees_on_a_one_part_scan(tiny_job):
    pytest.importorskip("monai", reason="MONAI is in the optional bench dependencies (pip install -e '.[bench]')")
    from legseg_core.bench import monai_compare

    figures = monai_compare.compare({**tiny_job, "repeats": 1})
    assert figures["windows"] == figures["patches"] == 2  # one part: one window per leg, as LegSeg's patches
    assert figures["dice"] >= 0.99 and figures["legseg_s"] > 0 and figures["monai_sliding_window_s"] > 0
    assert figures["speedup"] == pytest.approx(figures["monai_s"] / figures["legseg_s"])
    rows = monai_compare.rows("tiny", figures)
    assert [row["patches"] for row in rows] == [2, 2] and rows[1]["dice"] == round(figures["dice"], 4)


def test_monai_window_count_follows_its_scan_interval():
    from legseg_core.bench.monai_compare import _window_count

    assert _window_count((20, 104, 104), (20, 104, 104)) == 1
    assert _window_count((86, 104, 104), (20, 104, 104)) == 8  # steps of 10 slices: 0, 10, ..., 60, 66
    assert _window_count((86, 150, 104), (20, 104, 104)) == 8 * 2


def test_without_monai_the_comparison_is_skipped_with_a_note(monkeypatch):
    from legseg_core.bench import BenchResult, monai_compare

    monkeypatch.setattr(monai_compare, "monai_available", lambda: False)
    result = BenchResult("inference")
    bench._monai(result, {"scan": "unused"}, "25 slices")
    assert result.notes == [monai_compare.MISSING] and "pip install -e \".[bench]\"" in result.notes[0]
    assert not result.rows and not result.targets
