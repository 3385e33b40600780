"""`legseg demo`: a synthetic patient segmented, scored and shown (headless: files and a screenshot)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from legseg_core.cli import main
from legseg_core.errors import InputPathError, ModelError
from legseg_core.evaluation import overlap_map
from legseg_core.io import load_volume
from legseg_core.labels import MUSCLE_ABBRS
from legseg_core.model_lookup import resolve_model
from legseg_core.starter import DemoCase, run_demo, show
from legseg_core.progress import drive

SHIPPED_UNET = "unet-lite-starter"


def _shipped_unet() -> Path | None:
    try:
        return resolve_model(SHIPPED_UNET)
    except ModelError:
        return None


@pytest.fixture(scope="module")
def demo_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The shipped starter U-Net; an untrained small U-Net only while no starter model is shipped."""
    shipped = _shipped_unet()
    if shipped is not None:
        return str(shipped)
    from legseg_core.models import ModelCard, build_model, save_checkpoint

    network = build_model("unet", "lite", channels=(4, 8, 16, 32))
    path = tmp_path_factory.mktemp("model") / "small.pt"
    save_checkpoint(network, ModelCard.for_network(network, name="small"), path)
    return str(path)


@pytest.fixture(scope="module")
def headless_run(tmp_path_factory: pytest.TempPathFactory, demo_model: str) -> tuple[Path, dict, str]:
    out = tmp_path_factory.mktemp("demo") / "out"
    argv = ["demo", "--headless", "--out", str(out), "--size", "tiny", "--seed", "3", "--no-progress", "--json"]
    if _shipped_unet() is None:
        argv += ["--model", demo_model]
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(argv)
    return out, json.loads(buffer.getvalue()), str(code)


def test_headless_demo_writes_labels_overlap_table_and_app_screenshot(headless_run) -> None:
    out, summary, code = headless_run
    assert code == "0"
    for name in ("image.nii.gz", "manual.nii.gz", "prediction.nii.gz", "overlap.nii.gz", "dice.csv", "dice.md",
                 "screenshot.png"):
        assert (out / name).is_file(), name
    assert summary["screenshot_drawn_by"] == "app"
    assert (out / "screenshot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    manual, prediction = load_volume(out / "manual.nii.gz"), load_volume(out / "prediction.nii.gz")
    overlap = load_volume(out / "overlap.nii.gz")
    assert set(np.unique(manual.data)) == set(range(8))
    np.testing.assert_array_equal(overlap.data, overlap_map(manual.data, prediction.data))


def test_headless_demo_dice_table_matches_the_written_labels(headless_run) -> None:
    out, summary, _ = headless_run
    manual, prediction = load_volume(out / "manual.nii.gz").data, load_volume(out / "prediction.nii.gz").data
    with (out / "dice.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["muscle"] for row in rows] == [*MUSCLE_ABBRS, "mean"]
    for label, row in enumerate(rows[:7], start=1):
        a, b = manual == label, prediction == label
        expected = 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())
        assert float(row["dice"]) == pytest.approx(expected, abs=1e-5)
    assert summary["mean_dice"] == pytest.approx(np.mean([float(r["dice"]) for r in rows[:7]]), abs=1e-5)
    assert "| mean |" in (out / "dice.md").read_text(encoding="utf-8")


def test_headless_demo_uses_the_shipped_unet_when_it_exists(headless_run) -> None:
    _, summary, _ = headless_run
    shipped = _shipped_unet()
    if shipped is None:
        assert summary["model_file"].endswith("small.pt")
    else:
        assert Path(summary["model_file"]) == shipped
        assert summary["mean_dice"] > 0.3, summary["mean_dice"]


def test_screenshot_falls_back_to_matplotlib_when_the_app_fails(headless_run, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    out, _, _ = headless_run
    paths = {name: out / f"{name}.nii.gz" for name in ("image", "manual", "prediction", "overlap")}
    monkeypatch.setattr(show, "app_command", lambda *a, **k: ["python-that-does-not-exist-anywhere"])
    with pytest.raises(FileNotFoundError):
        show.screenshot(paths, tmp_path / "shot.png")
    monkeypatch.setattr(show, "app_command", lambda *a, **k: [show.sys.executable, "-c", "raise SystemExit(3)"])
    path, how = show.screenshot(paths, tmp_path / "shot.png")
    assert how == "matplotlib" and path.read_bytes()[:4] == b"\x89PNG"


def test_demo_refuses_an_output_path_that_is_a_file(tmp_path: Path, demo_model: str) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    with pytest.raises(InputPathError, match="taken: exists and is not a folder"):
        drive(run_demo(blocker, case=DemoCase(size="tiny"), model=demo_model))


def test_demo_names_an_unknown_model(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(ModelError, match="unknown model 'no-such-model'"):
        drive(run_demo(tmp_path / "out", case=DemoCase(size="tiny"), model="no-such-model"))
    assert main(["demo", "--headless", "--out", str(tmp_path / "o"), "--model", "no-such-model",
                 "--size", "tiny", "--no-progress"]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err
