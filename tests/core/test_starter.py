"""Starter models: shipping a trained file (half precision, card, Markdown) and registering them in new stores."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from legseg_core.cli import main
from legseg_core.errors import InputPathError, LegsegError
from legseg_core.models import ModelCard, build_model, load_checkpoint, read_card, save_checkpoint
from legseg_core.starter import ship
from legseg_core.store import Store
from legseg_core.training.registry import ModelRegistry


def _trained(path: Path, arch: str = "unet") -> Path:
    network = build_model(arch, "lite", channels=(4, 8, 16, 32)) if arch != "densenet" else \
        build_model(arch, "lite", first_channels=4, growth_rate=2, layers=(1, 1, 1, 1))
    card = ModelCard.for_network(network, metrics={"validation_dice": {"GL": 0.5}}, training={"recipe": {"name": "x"}})
    return save_checkpoint(network, card, path)


def _report(path: Path, dice: float) -> Path:
    muscles = [{"label": label, "dice": dice, "ahd_voxels": 1.0, "ahd_mm": 2.0} for label in range(1, 8)]
    muscles[6]["dice"] = None
    path.write_text(json.dumps({"models": {"p": {"cases": [{"case_id": "c", "muscles": muscles}]}}}))
    return path


def test_ship_writes_half_precision_weights_and_a_card_with_commands_metrics_and_limits(tmp_path: Path) -> None:
    trained = _trained(tmp_path / "trained.pt")
    details = {"commands": ["legseg train --seed 1"], "seed": 1, "metrics": {"held-out": {"cases": 2}}}
    shipped = ship.ship_model(trained, tmp_path / "assets" / "unet-lite-starter.pt", name="unet-lite-starter",
                              details=details, notes="synthetic only")
    payload = torch.load(shipped, weights_only=True)
    assert payload["weights_dtype"] == "float16"
    assert shipped.stat().st_size < trained.stat().st_size
    network, card = load_checkpoint(shipped)
    assert card.name == "unet-lite-starter" and card.notes == "synthetic only"
    assert card.training["commands"] == ["legseg train --seed 1"] and card.training["recipe"] == {"name": "x"}
    assert card.metrics == {"validation_dice": {"GL": 0.5}, "held-out": {"cases": 2}}
    original, _ = load_checkpoint(trained)
    for name, tensor in original.state_dict().items():
        torch.testing.assert_close(network.state_dict()[name], tensor, atol=2e-3, rtol=2e-3)


def test_ship_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputPathError, match="missing.pt: no such model file to ship"):
        ship.ship_model(tmp_path / "missing.pt", tmp_path / "out.pt", name="x", details={})


def test_evaluation_summary_averages_each_muscle_and_skips_undefined_values(tmp_path: Path) -> None:
    summary = ship.evaluation_summary(_report(tmp_path / "r.json", 0.8))
    assert summary["cases"] == 1 and summary["dice"]["GL"] == pytest.approx(0.8)
    assert math.isnan(summary["dice"]["TP"]) and summary["dice"]["mean"] == pytest.approx(0.8)
    assert summary["ahd_mm"]["mean"] == pytest.approx(2.0)
    validation = {"cases": ["a", "b"], "dice": {"GL": 0.25}, "mean_dice": 0.5, "source": "validation patches"}
    table = ship.metrics_table({"held-out": summary, "other": {"x": 1}, "validation": validation})
    assert "| held-out | dice | 1 | 0.800 |" in table and "other" not in table
    assert "| validation (validation patches) | dice | 2 | 0.250 | - |" in table and "| 0.500 |" in table


def test_evaluation_summary_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputPathError, match="bad.json: not a readable"):
        ship.evaluation_summary(bad)
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"models": {}}))
    with pytest.raises(LegsegError, match="empty.json: the report holds no scored cases"):
        ship.evaluation_summary(empty)


def test_ship_command_writes_model_and_markdown_card(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    trained = _trained(tmp_path / "trained.pt")
    texts = {name: tmp_path / f"{name}.txt" for name in ("commands", "about", "limits")}
    texts["commands"].write_text("legseg phantom cohort --seed 101\n\nlegseg train --seed 1\n")
    texts["about"].write_text("A small U-Net.")
    texts["limits"].write_text("Never tested on real T1w scans.")
    code = main(["starter", "ship", str(trained), "--name", "unet-lite-starter", "--out-dir", str(tmp_path / "a"),
                 "--commands", str(texts["commands"]), "--about", str(texts["about"]), "--limits",
                 str(texts["limits"]), "--evaluation", f"held-out={_report(tmp_path / 'r.json', 0.9)}",
                 "--detail", "wall_minutes=41"])
    assert code == 0, capsys.readouterr().err
    card = read_card(tmp_path / "a" / "unet-lite-starter.pt")
    assert card.training["wall_minutes"] == 41 and card.metrics["held-out"]["dice"]["GL"] == pytest.approx(0.9)
    markdown = (tmp_path / "a" / "unet-lite-starter.md").read_text()
    assert "A small U-Net." in markdown and "legseg train --seed 1" in markdown
    assert "Never tested on real T1w scans." in markdown and "| held-out | dice | 1 | 0.900 |" in markdown
    code = main(["starter", "ship", str(trained), "--name", "x", "--out-dir", str(tmp_path / "a"), "--commands",
                 str(tmp_path / "none.txt"), "--about", str(texts["about"]), "--limits", str(texts["limits"])])
    assert code == 2 and "none.txt: cannot read" in capsys.readouterr().err


def test_a_new_store_gets_the_starter_models_unet_active(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture) -> None:
    files = [_trained(tmp_path / "unet-lite-starter.pt"), _trained(tmp_path / "resnet-lite-starter.pt", "resnet")]
    monkeypatch.setattr(ship, "starter_model_files", lambda: files)
    assert main(["store", "init", "--store", str(tmp_path / "store")]) == 0
    assert "registered starter model unet-lite-starter" in capsys.readouterr().out
    registry = ModelRegistry(Store.open(tmp_path / "store"))
    assert registry.active().architecture == "unet" and registry.active().training["shipped"] == "unet-lite-starter"
    assert [m.status for m in registry.models()] == ["candidate", "active"]
    assert registry.verified_path(registry.active()).read_bytes() == files[0].read_bytes()
    assert ship.register_starter_models(Store.open(tmp_path / "store")) == []
    assert main(["store", "init", "--store", str(tmp_path / "bare"), "--no-starter-models"]) == 0
    assert ModelRegistry(Store.open(tmp_path / "bare")).models() == []


def test_starter_register_command_fills_a_store_without_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture) -> None:
    files = [_trained(tmp_path / "unet-lite-starter.pt")]
    monkeypatch.setattr(ship, "starter_model_files", lambda: files)
    Store.init(tmp_path / "store")
    assert main(["starter", "register", "--store", str(tmp_path / "store")]) == 0
    assert "active (unet-lite-starter)" in capsys.readouterr().out
    assert main(["starter", "register", "--store", str(tmp_path / "store")]) == 0
    assert "nothing registered" in capsys.readouterr().out


def _two_legs(tmp_path: Path):
    import numpy as np

    from legseg_core.io import Volume, save_image, save_labels

    image = Volume.from_array(np.random.default_rng(0).random((4, 10, 20)).astype(np.float32), (5.0, 2.0, 2.0))
    raw = np.zeros((4, 10, 20), dtype=np.uint8)
    raw[:, 2:6, 2:5], raw[:, 2:6, 14:17] = 17, 18  # soleus: odd value right leg (small x), even left
    raw[:, 6:8, 3:5], raw[:, 6:8, 15:17] = 25, 26  # tibialis posterior
    save_image(image.data, image, tmp_path / "scan.nii.gz")
    save_labels(raw, image, tmp_path / "raw.nii.gz")
    return image


def test_real_case_reference_per_leg_correction_and_crop(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import numpy as np

    from legseg_core.io import load_volume, save_labels

    image = _two_legs(tmp_path)
    assert main(["starter", "reference", str(tmp_path / "scan.nii.gz"), str(tmp_path / "raw.nii.gz"),
                 "--out-dir", str(tmp_path / "out")]) == 0
    reference = load_volume(tmp_path / "out" / "reference.nii.gz").data
    assert set(np.unique(reference)) == {0, 3, 7}
    split = int((tmp_path / "out" / "leg_split_x.txt").read_text())
    assert 4 < split < 15
    right = load_volume(tmp_path / "out" / "reference_right.nii.gz").data
    assert right[:, :, split:].max() == 0 and (right[:, :, :split] == reference[:, :, :split]).all()
    prediction = np.full(image.shape, 5, dtype=np.uint8)
    save_labels(prediction, image, tmp_path / "pred.nii.gz")
    assert main(["starter", "legs", str(tmp_path / "scan.nii.gz"), str(tmp_path / "pred.nii.gz"), "--reference",
                 str(tmp_path / "out" / "reference.nii.gz"), "--out-dir", str(tmp_path / "out"), "--crop"]) == 0
    corrected = load_volume(tmp_path / "out" / "pred_corrected_right.nii.gz").data
    assert (corrected[:, :, :split] == reference[:, :, :split]).all() and (corrected[:, :, split:] == 5).all()
    left = load_volume(tmp_path / "out" / "pred_left.nii.gz").data
    assert left[:, :, :split].max() == 0 and (left[:, :, split:] == 5).all()
    crop = load_volume(tmp_path / "out" / "right_leg_labels.nii.gz")
    assert crop.shape == (4, 10, split) and (crop.data == reference[:, :, :split]).all()
    assert load_volume(tmp_path / "out" / "right_leg_scan.nii.gz").spacing == pytest.approx((5.0, 2.0, 2.0))


def test_real_case_errors_name_the_problem(tmp_path: Path) -> None:
    import numpy as np

    from legseg_core.errors import ImageValueError
    from legseg_core.starter import realcase

    with pytest.raises(ImageValueError, match="muscles on both legs"):
        realcase.leg_split_column(np.zeros((2, 3, 4), dtype=np.uint8), np.zeros((2, 3, 4), dtype=bool))
    with pytest.raises(ImageValueError, match="leg 'middle' is unknown"):
        realcase.leg_only(np.zeros((2, 3, 4), dtype=np.uint8), 2, "middle")


def test_a_model_file_written_before_an_argument_existed_ships_with_it_spelled_out(tmp_path: Path) -> None:
    import torch

    from legseg_core.models.checkpoint import read_payload

    path = _trained(tmp_path / "older.pt", "resnet")
    payload = read_payload(path)
    card = json.loads(payload["card"])
    del card["arguments"]["checkpointing"]  # as files made before the argument existed
    payload["card"] = json.dumps(card)
    torch.save(payload, path)
    shipped = ship.ship_model(path, tmp_path / "out" / "resnet-lite-starter.pt", name="resnet-lite-starter",
                              details={})
    assert read_card(shipped).arguments["checkpointing"] is False
