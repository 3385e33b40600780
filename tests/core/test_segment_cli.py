"""``legseg segment`` and ``legseg models list`` end to end, on tiny phantoms and a tiny model file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from legseg_core.cli import main
from legseg_core.io import Volume, load_labels, load_volume, save_image
from legseg_core.labels import NUM_CLASSES
from legseg_core.models import PAPER_PARAMETERS, ModelCard, build_model, save_checkpoint
from legseg_core.phantom import make_case


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory, monkeypatch):
    """One torch thread, and no user store: named models come from an empty folder."""
    monkeypatch.setenv("LEGSEG_STORE", str(tmp_path_factory.mktemp("no-store") / "store"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scans")
    for seed in (1, 2):
        volume = make_case(seed=seed, size="tiny").images["dixon_water"]
        save_image(volume.data, volume, folder / f"case{seed}.nii.gz")
    return folder


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    network = build_model("unet", "lite", channels=(4, 8, 8), strides=[(1, 2, 2), (2, 2, 2)])
    return save_checkpoint(network, ModelCard.for_network(network), tmp_path_factory.mktemp("m") / "tiny.pt")


def segment(*arguments: str) -> int:
    return main(["segment", *arguments, "--no-progress"])


def test_a_folder_of_scans_gives_labels_that_overlay_each_scan(scans, model_file, tmp_path, capsys):
    assert segment(str(scans), "-o", str(tmp_path / "out"), "--model", str(model_file), "--device", "cpu") == 0
    for name in ("case1", "case2"):
        scan = load_volume(scans / f"{name}.nii.gz")
        labels = load_labels(tmp_path / "out" / f"{name}_labels.nii.gz", like=scan)
        assert labels.data.max() <= 7
    text = capsys.readouterr().out
    assert "model unet-lite-" in text and "case2_labels.nii.gz" in text and "GL " in text


def test_one_scan_to_a_file_with_probabilities_and_json(scans, model_file, tmp_path, capsys):
    out = tmp_path / "result.nii.gz"
    assert segment(str(scans / "case1.nii.gz"), "-o", str(out), "--model", str(model_file), "--probabilities",
                   "--json") == 0
    report = json.loads(capsys.readouterr().out)
    item = report["scans"][0]
    assert report["model"]["architecture"] == "unet" and report["device"] == "cpu"
    assert item["labels"] == str(out) and set(item["muscles"]) == {"GL", "GM", "SOL", "TA", "PER", "EDL", "TP"}
    assert 0.0 <= item["uncertainty_score"] <= 1.0 and item["patches"] >= 1
    scan = load_volume(scans / "case1.nii.gz")
    probabilities = nib.load(item["probabilities"])
    assert probabilities.shape[-1] == 8 and np.allclose(probabilities.affine, nib.load(out).affine)
    np.testing.assert_allclose(np.asarray(probabilities.dataobj).sum(axis=-1), 1.0, atol=1e-4)
    uncertainty = load_volume(item["uncertainty"])
    assert uncertainty.shape == scan.shape and 0.0 <= uncertainty.data.min() <= uncertainty.data.max() <= 1.0
    assert item["probabilities"].endswith("result_probabilities.nii.gz")


def test_a_bad_scan_among_good_ones_is_reported_and_the_rest_is_written(scans, model_file, tmp_path, capsys):
    empty = Volume.from_array(np.zeros((20, 40, 40), np.float32), (5.0, 3.0, 3.0))
    save_image(empty.data, empty, tmp_path / "empty.nii.gz")
    status = segment(str(tmp_path / "empty.nii.gz"), str(scans / "case1.nii.gz"), "-o", str(tmp_path / "out"),
                     "--model", str(model_file), "--json")
    captured = capsys.readouterr()
    assert status == 2 and "legseg: error:" in captured.err and "empty" in captured.err
    results = json.loads(captured.out)["scans"]
    assert "error" in results[0] and results[1]["labels"].endswith("case1_labels.nii.gz")
    assert (tmp_path / "out" / "case1_labels.nii.gz").is_file()


@pytest.mark.parametrize("arguments, message", [
    (["{scans}/case1.nii.gz", "-o", "{tmp}/x.nii.gz", "--model", "best-net"],
     r"unknown model 'best-net': .*Available: shipped with LegSeg: .*registered in the store: none"),
    (["{scans}", "-o", "{tmp}/x.nii.gz", "--model", "{model}"], r"x.nii.gz: a file name can take the labels of one scan only"),
    (["{tmp}/missing.nii.gz", "-o", "{tmp}/out", "--model", "{model}"], r"missing.nii.gz: no such file or folder"),
    (["{scans}", "-o", "{tmp}/out", "--model", "{tmp}/none.pt"], r"none.pt: no such model file"),
    (["{scans}", "-o", "{tmp}/out", "--model", "{model}", "--device", "tpu"], r"unknown device 'tpu'"),
])
def test_user_errors_exit_2_with_one_message(scans, model_file, tmp_path, capsys, arguments, message):
    filled = [a.format(scans=scans, tmp=tmp_path, model=model_file) for a in arguments]
    assert segment(*filled) == 2
    error = capsys.readouterr().err
    assert "Traceback" not in error
    assert re.search(message, error), error


def test_models_list_shows_architectures_presets_and_parameter_counts(capsys):
    assert main(["models", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    rows = {(r["architecture"], r["preset"]): r for r in listing["architectures"]}
    assert set(rows) == {(a, p) for a in ("unet", "resnet", "densenet") for p in ("lite", "paper")}
    for arch, count in PAPER_PARAMETERS.items():
        assert abs(rows[arch, "paper"]["parameters"] - count) <= 0.1 * count
        assert rows[arch, "lite"]["parameters"] < 1_500_000
    assert listing["registered"] == [] and "shipped with LegSeg" in listing["named_models"]
    assert main(["models", "list"]) == 0
    text = capsys.readouterr().out
    assert "unet" in text and "15695864" in text and "registered models: none" in text


def test_leg_names_the_side_of_a_single_leg_scan(model_file, tmp_path, capsys):
    from legseg_core.errors import ModelError
    from legseg_core.inference import Segmenter
    from legseg_core.preprocess import to_patches

    volume = make_case(seed=3, size="tiny", legs="left").images["dixon_water"]
    scan = save_image(volume.data, volume, tmp_path / "left.nii.gz")
    for side in ("left", "right"):
        segmenter = Segmenter(model_file, "cpu", leg=side)
        plan = to_patches(volume, config=segmenter.config).plan
        assert plan.legs == (side,) and [r.mirrored for r in plan.records] == [side == "left"] * len(plan.records)
    with pytest.raises(ModelError, match="leg='up' must be one of auto, right, left"):
        Segmenter(model_file, "cpu", leg="up")
    assert segment(str(scan), "-o", str(tmp_path / "out.nii.gz"), "--model", str(model_file), "--leg", "left") == 0
    assert load_labels(tmp_path / "out.nii.gz", volume).data.shape == volume.shape
    with pytest.raises(SystemExit):
        segment(str(scan), "-o", str(tmp_path / "x.nii.gz"), "--model", str(model_file), "--leg", "up")
    assert "invalid choice: 'up'" in capsys.readouterr().err


class SidedNetwork(torch.nn.Module):
    """Certain of muscle 1 when the left half of a patch is brighter than its right half; otherwise
    it spreads its belief over the seven muscles (uncertain, and labels nothing)."""

    architecture, preset, arguments, out_channels = "sided", None, {"out_channels": NUM_CLASSES}, NUM_CLASSES

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        half = batch.shape[-1] // 2
        lean = batch[..., :half].mean(dim=(1, 2, 3, 4)) - batch[..., half:].mean(dim=(1, 2, 3, 4))
        logits = torch.zeros(batch.shape[0], NUM_CLASSES, *batch.shape[2:])
        logits[:, 1:] = 1.0
        logits[:, 1] += (50.0 * lean).clamp(-20.0, 20.0)[:, None, None, None]
        return logits

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(batch), dim=1)


def test_a_centred_leg_of_unknown_side_keeps_the_side_the_network_is_surer_of(caplog):
    from legseg_core.inference import Segmenter
    from legseg_core.preprocess import to_patches
    from tests.core.test_preprocess import synthetic_legs

    network = SidedNetwork()
    segmenter = Segmenter((network, ModelCard.for_network(network)), "cpu")
    volume, _ = synthetic_legs(legs="centre")
    flipped = Volume.from_array(np.ascontiguousarray(volume.data[..., ::-1]), volume.spacing, name="flipped")
    kept = {}
    for scan in (volume, flipped):
        patch = to_patches(scan, config=segmenter.config).images[0]  # as a right leg: not mirrored
        certain_as_right = patch[..., :patch.shape[-1] // 2].mean() > patch[..., patch.shape[-1] // 2:].mean()
        with caplog.at_level("WARNING", logger="legseg_core.inference"):
            result = segmenter.segment(scan)
        kept[scan.name] = result.legs
        assert result.legs == (("right",) if certain_as_right else ("left",))
        assert result.uncertainty_score < 0.5 and result.muscle_voxels()[1] > 0
        assert result.patches == 2 * len(to_patches(scan, config=segmenter.config).images)
    assert kept[volume.name] != kept[flipped.name]  # the mirror image of the scan gets the other side
    assert "segmented as a right and as a left leg, kept the" in caplog.text
    sided = Segmenter((network, ModelCard.for_network(network)), "cpu", leg="left").segment(volume)
    assert sided.legs == ("left",) and sided.patches == len(to_patches(volume).images)  # a given side: one pass


def test_without_model_the_starter_unet_is_used_and_named(scans, tmp_path, capsys):
    assert segment(str(scans / "case1.nii.gz"), "-o", str(tmp_path / "a.nii.gz"), "--json") == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["model"]["chosen"].startswith("the starter unet-lite-starter: no store at")
    assert payload["scans"][0]["frame"] == "3D image" and payload["scans"][0]["legs"]
    assert "flags" in payload["scans"][0]["quality"]


def test_a_failed_scan_of_a_batch_is_reported_once(scans, model_file, tmp_path, capsys):
    broken = tmp_path / "in" / "broken.nii.gz"
    broken.parent.mkdir()
    broken.write_bytes(b"not a nifti")
    good = tmp_path / "in" / "good.nii.gz"
    good.write_bytes((scans / "case1.nii.gz").read_bytes())
    assert segment(str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model", str(model_file)) == 2
    captured = capsys.readouterr()
    assert captured.err.count("broken.nii.gz") == 1 and "broken.nii.gz: failed (error above)" in captured.out
    assert (tmp_path / "out" / "good_labels.nii.gz").is_file()
