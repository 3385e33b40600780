"""Quality control of a segmentation without a reference, and the legs of a label map."""

from __future__ import annotations

import json

import numpy as np
import pytest

from legseg_core.cli import main
from legseg_core.evaluation.legs import split_labels
from legseg_core.evaluation.qc import check_segmentation
from legseg_core.io import save_image
from legseg_core.phantom import make_case


@pytest.fixture(scope="module")
def phantom():
    return make_case(seed=4, size="tiny").labels


def test_the_legs_part_in_the_gap_between_their_muscles(phantom):
    split = split_labels(phantom.data)
    assert split.sides == ("right", "left")
    right, left = split.leg_labels(phantom.data, "right"), split.leg_labels(phantom.data, "left")
    assert np.count_nonzero(right) + np.count_nonzero(left) == np.count_nonzero(phantom.data)
    assert np.nonzero(right)[2].max() < np.nonzero(left)[2].min()  # right leg at smaller x


def test_a_single_leg_is_placed_by_its_side_of_the_field_of_view(phantom):
    split = split_labels(phantom.data)
    left_only = split.leg_labels(phantom.data, "left")
    assert split_labels(left_only).sides == ("left",)
    assert split_labels(split.leg_labels(phantom.data, "right")).sides == ("right",)


def test_missing_fragmented_and_lopsided_muscles_are_flagged(phantom):
    labels = phantom.data.copy()
    split = split_labels(labels)
    left = split.mask("left", labels.shape)
    labels[(labels == 4) & left] = 0  # TA gone from the left leg
    gl = np.nonzero((labels == 1) & ~left)
    middle = (gl[0].min() + gl[0].max()) // 2
    labels[middle - 1:middle + 2][(labels[middle - 1:middle + 2] == 1) & ~left[middle - 1:middle + 2]] = 0
    report = check_segmentation(labels, phantom.spacing, split=split)
    text = "\n".join(report.flags)
    assert "missing: TA in the left leg" in text
    assert "fragmented: GL in the right leg lies in 2 pieces" in text
    assert report.ratios["TA"] is None
    clean = check_segmentation(phantom.data, phantom.spacing)
    assert report.effort > clean.effort
    assert not [f for f in clean.flags if f.startswith("missing")]


def test_the_real_reference_passes_and_a_damaged_copy_does_not(real_case):
    image, labels, right = real_case
    assert check_segmentation(labels.data, labels.spacing).flags == ()
    damaged = labels.data.copy()
    damaged[(damaged == 6) & ~right] = 0  # EDL gone from the left leg
    damaged[(damaged == 3) & right] = 2  # the right soleus called GM
    flags = check_segmentation(damaged, labels.spacing).flags
    assert any("missing: EDL in the left leg" in f for f in flags)
    assert any(f.startswith("ratio: GM left/right") for f in flags)
    assert any(f.startswith("ratio: SOL") or "SOL" in f for f in flags)


def test_segment_flags_the_implausible_t2_result_and_reports_its_choices(real_data, tmp_path, monkeypatch, capsys):
    # the last of the 18 echoes (little signal left): the starter U-Net misses muscles there, as a user who picks
    # the wrong echo would see
    monkeypatch.setenv("LEGSEG_STORE", str(tmp_path / "no-store"))
    out = tmp_path / "t2_labels.nii.gz"
    assert main(["segment", str(real_data / "t2_mese.nii.gz"), "--frame", "17", "-o", str(out), "--no-progress",
                 "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert "the starter unet-lite-starter" in payload["model"]["chosen"]
    scan = payload["scans"][0]
    assert scan["frame"] == "17 of 18 (chosen)" and scan["legs"] == ["right", "left"]
    assert scan["device"] == "cpu" and scan["precision"] in ("fp32", "bf16")
    assert scan["quality"]["flags"], "the last echo's result misses muscles and must be flagged"
    assert any(flag.startswith("missing") for flag in scan["quality"]["flags"])


def test_measure_and_evaluate_report_each_leg(phantom, tmp_path, capsys):
    path = save_image(phantom.data, phantom, tmp_path / "labels.nii.gz")
    csv = tmp_path / "m.csv"
    assert main(["measure", str(path), "--per-leg", "--json", "--csv", str(csv)]) == 0
    payload = json.loads(capsys.readouterr().out)
    both = {m["muscle"]: m["volume_ml"] for m in payload["muscles"]}
    legs = payload["legs"]
    for muscle, volume in both.items():
        parts = [next(m["volume_ml"] for m in legs[leg] if m["muscle"] == muscle) for leg in ("right", "left")]
        assert sum(parts) == pytest.approx(volume)
    assert {line.split(",")[0] for line in csv.read_text().splitlines()[1:]} == {"both", "right", "left"}
    prediction = phantom.data.copy()
    prediction[:, :, : prediction.shape[2] // 2][prediction[:, :, : prediction.shape[2] // 2] == 3] = 0
    predicted = save_image(prediction, phantom, tmp_path / "pred.nii.gz")
    assert main(["evaluate", "--reference", str(path), "--prediction", str(predicted), "--names", "m",
                 "--per-leg", "--json"]) == 0
    models = json.loads(capsys.readouterr().out)["models"]
    assert [models[name]["leg"] for name in ("m", "m right", "m left")] == ["both", "right", "left"]
    assert models["m right"]["per_muscle"]["dice"]["SOL"]["mean"] == 0.0
    assert models["m left"]["per_muscle"]["dice"]["SOL"]["mean"] == 1.0


def test_a_leg_the_network_missed_entirely_is_flagged(phantom):
    from types import SimpleNamespace

    from legseg_core.evaluation.legs import segmentation_split

    split = split_labels(phantom.data)
    only_right = split.leg_labels(phantom.data, "right")
    result = SimpleNamespace(labels=only_right, legs=("right", "left"))
    report = check_segmentation(only_right, phantom.spacing, split=segmentation_split(result))
    assert report.legs == ("right", "left")
    assert "missing: no muscle at all in the left leg" in report.flags
