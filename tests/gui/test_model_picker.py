"""The model picker: registered models with the active one marked, shipped and added files, devices, no torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from legseg_core.errors import LegsegError
from legseg_core.starter.stores import create_store
from legseg_core.store import Store
from legseg_core.training.registry import ModelRegistry
from legseg_gui.model_picker import ACTIVE_MARK, ModelPickerWidget, available_devices, file_choice
from tests.gui.app_helpers import tiny_model_file


def register(store: Store, tmp_path, status: str, dice: float, name: str) -> str:
    model = ModelRegistry(store).register(lambda path, model_id: tiny_model_file(path), architecture="unet",
                                          training={"preset": "lite", "data": []},
                                          metrics={"validation": {"mean_dice": dice}}, status=status, reason=name)
    return model.id


@pytest.fixture
def store_with_models(tmp_path):
    store = Store.init(tmp_path / "store")
    candidate = register(store, tmp_path, "candidate", 0.61, "first")
    active = register(store, tmp_path, "active", 0.72, "second")
    return store, active, candidate


def test_registered_models_are_listed_with_the_active_one_first_and_marked(qtbot, store_with_models, tmp_path) -> None:
    store, active, candidate = store_with_models
    picker = ModelPickerWidget(store, shipped=[tmp_path / "no-shipped-models"])
    qtbot.addWidget(picker)
    choices = picker.choices()
    assert [c.model_id for c in choices] == [active, candidate]
    assert choices[0].title.startswith(ACTIVE_MARK) and "unet/lite" in choices[0].title and "0.720" in choices[0].title
    assert not choices[1].title.startswith(ACTIVE_MARK)
    assert picker.current_choice().model_id == active
    assert picker.current_choice().resolve(store) == ModelRegistry(store).path(active)
    assert "unet/lite: active" in picker.info_label.text()


def test_a_registered_starter_is_listed_by_its_name_before_its_id(qtbot, tmp_path) -> None:
    store = create_store(tmp_path / "store")  # with the shipped starters registered; the U-Net active
    picker = ModelPickerWidget(store, shipped=[tmp_path / "no-shipped-models"])
    qtbot.addWidget(picker)
    first = picker.choices()[0]
    assert first.title.startswith(f"{ACTIVE_MARK} unet-lite-starter (active") and first.title.endswith(first.model_id)
    assert picker.model_combo.toolTip() == first.title


def test_reading_the_registry_in_the_background_fills_the_list_later(qtbot, store_with_models, tmp_path) -> None:
    store, active, candidate = store_with_models
    picker = ModelPickerWidget(store, shipped=[tmp_path / "none"], background=True)
    qtbot.addWidget(picker)
    qtbot.waitUntil(lambda: len(picker.choices()) == 2, timeout=10_000)
    assert picker.current_choice().model_id == active
    with qtbot.waitSignal(picker.choice_changed) as blocker:
        picker.choose(candidate)
    assert blocker.args[0].model_id == candidate


def test_shipped_and_added_model_files_are_offered(qtbot, tmp_path) -> None:
    shipped = tmp_path / "assets" / "models"
    tiny_model_file(shipped / "unet-lite.pt")
    picker = ModelPickerWidget(None, shipped=[shipped])
    qtbot.addWidget(picker)
    assert [c.name for c in picker.choices()] == ["unet-lite"] and picker.choices()[0].source == "shipped"
    (shipped / "unet-lite.json").write_text('{"architecture": "unet", "preset": "lite", "model_id": "m"}')
    picker.refresh()
    assert picker.choices()[0].title == "unet/lite · unet-lite (shipped)" and picker.choices()[0].architecture == "unet"
    added = picker.add_model_file(tiny_model_file(tmp_path / "mine.pt"))
    assert picker.current_choice() == added and added.resolve() == (tmp_path / "mine.pt").resolve()
    picker.refresh()
    assert [c.name for c in picker.choices()] == ["unet-lite", "mine"]


def test_missing_files_unknown_models_and_devices_are_clear_errors(qtbot, tmp_path) -> None:
    picker = ModelPickerWidget(None, shipped=[tmp_path])
    qtbot.addWidget(picker)
    with pytest.raises(LegsegError, match="model file .*missing.pt does not exist"):
        picker.add_model_file(tmp_path / "missing.pt")
    with pytest.raises(LegsegError, match="no model 'nope' is offered; offered: none"):
        picker.choose("nope")
    with pytest.raises(LegsegError, match="device 'tpu' is not available here; available: auto, cpu"):
        picker.set_device("tpu")
    with pytest.raises(LegsegError, match="no store is open"):
        file_choice(tmp_path / "x.pt").__class__("registry:m", "m", "m", "registry", model_id="m").resolve(None)
    assert "No model yet" in picker.info_label.text()


def test_devices_start_with_auto_and_cpu(qtbot) -> None:
    devices = available_devices()
    assert devices[:2] == ["auto", "cpu"] and set(devices) <= {"auto", "cpu", "cuda", "mps"}
    picker = ModelPickerWidget(None)
    qtbot.addWidget(picker)
    picker.set_device("cpu")
    assert picker.device == "cpu"


def test_building_the_picker_and_the_app_panels_imports_no_torch(tmp_path) -> None:
    store = Store.init(tmp_path / "store")
    store.close()
    script = ("import os, sys\nos.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
              "from qtpy.QtWidgets import QApplication\napp = QApplication([])\n"
              "from legseg_core.store import Store\nfrom legseg_gui.app.main_window import MainWindowWidget\n"
              f"window = MainWindowWidget(Store.open({str(tmp_path / 'store')!r}))\nwindow.show()\napp.processEvents()\n"
              "from legseg_gui.worker import shutdown_workers\nshutdown_workers()\n"
              "print('torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "False", (result.stdout, result.stderr[-2000:])


def test_the_starter_u_net_is_the_first_and_chosen_shipped_model(qtbot, tmp_path) -> None:
    shipped = tmp_path / "assets" / "models"
    for name in ("densenet-lite-starter", "aaa", "resnet-lite-starter", "unet-lite-starter"):
        tiny_model_file(shipped / f"{name}.pt")
    picker = ModelPickerWidget(None, shipped=[shipped])
    qtbot.addWidget(picker)
    assert [c.name for c in picker.choices()] == ["unet-lite-starter", "resnet-lite-starter",
                                                  "densenet-lite-starter", "aaa"]
    assert picker.current_choice().name == "unet-lite-starter"
