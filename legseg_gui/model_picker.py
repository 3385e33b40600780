"""Choosing the network that segments, and the device it runs on.

:class:`ModelPickerWidget` lists the models registered in the store (newest first, the active
one first and marked ★, each with its architecture/preset and validation Dice), the model
files shipped with LegSeg, and model files the user adds; and a device: ``auto`` (CUDA, then
Apple MPS, then CPU), ``cpu``, and ``cuda`` or ``mps`` where the machine has them. Building
the widget imports no torch: the registry is read from the store's catalog, devices are
detected from the system (and confirmed by torch once something else has imported it).
"""

from __future__ import annotations

import json
import logging
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from legseg_core.errors import LegsegError
from legseg_gui.worker import ProgressWorker

log = logging.getLogger(__name__)

MODEL_FILE_PATTERNS = ("*.pt", "*.pth")
ACTIVE_MARK = "★"

if TYPE_CHECKING:
    from legseg_core.store import Store


@dataclass(frozen=True)
class ModelChoice:
    """A model that can segment: a registered model (``model_id``) or a model file (``path``).

    ``name`` is what the prediction's provenance records (``predicted:<name>``).
    """

    key: str
    title: str
    name: str
    source: str  # "registry", "shipped" or "file"
    architecture: str = ""
    preset: str = ""
    status: str = ""
    model_id: str | None = None
    path: Path | None = None

    def resolve(self, store: Store | None = None) -> Path:
        """The model file to load (a registered model's checksum is verified first)."""
        if self.path is not None:
            if not self.path.is_file():
                raise LegsegError(f"model file {self.path} does not exist")
            return self.path
        if store is None:
            raise LegsegError(f"model {self.model_id} is registered in a store, but no store is open")
        from legseg_core.training.registry import ModelRegistry

        return ModelRegistry(store).verified_path(str(self.model_id))


def registered_choices(store: Store) -> list[ModelChoice]:
    """The store's registered models, the active one first (rejected ones last)."""
    from legseg_core.training.registry import ModelRegistry

    order = {"active": 0, "candidate": 1, "retired": 2, "rejected": 3}
    models = sorted(ModelRegistry(store).models(), key=lambda m: order.get(m.status, 4))
    return [ModelChoice(f"registry:{m.id}", _registry_title(m), m.id, "registry", m.architecture, m.preset,
                        m.status, model_id=m.id) for m in models]


def _registered_or_none(store: Store) -> list[ModelChoice]:
    try:
        return registered_choices(store)
    except LegsegError as error:
        log.warning("cannot list the registered models: %s", error)
        return []


def _registry_title(model: Any) -> str:
    """What the model is (a starter's name, else its network), its status and validation Dice, then its id:
    the first part is what a narrow box shows."""
    mark = f"{ACTIVE_MARK} " if model.status == "active" else ""
    dice = model.mean_dice
    dice_text = f", Dice {dice:.3f}" if dice is not None and dice == dice else ""
    what = model.training.get("shipped") or f"{model.architecture}/{model.preset or '-'}"
    return f"{mark}{what} ({model.status}{dice_text}) · {model.id}"


def shipped_folders() -> list[Path]:
    """Where shipped model files live: ``assets/models`` of the source tree or of the package."""
    from legseg_core.model_lookup import shipped_model_folders

    return shipped_model_folders()


def file_choice(path: str | Path, source: str = "file") -> ModelChoice:
    """A model file as a choice, named after its file; its architecture and preset come from a JSON model
    card beside it (``<name>.json``), when there is one, since reading the model file needs torch."""
    path = Path(path).expanduser().resolve()
    name = path.name.split(".")[0]
    architecture, preset = _card_beside(path)
    kind = f"{architecture}/{preset or '-'} · " if architecture else ""
    place = "shipped" if source == "shipped" else str(path.parent)
    return ModelChoice(f"{source}:{path}", f"{kind}{name} ({place})", name, source, architecture, preset,
                       status=source, path=path)


def _card_beside(path: Path) -> tuple[str, str]:
    """(architecture, preset) of the JSON card next to a model file, or empty strings."""
    card = path.with_suffix(".json")
    try:
        data = json.loads(card.read_text(encoding="utf-8")) if card.is_file() else {}
    except (OSError, ValueError) as error:
        log.debug("ignoring the unreadable model card %s: %s", card, error)
        data = {}
    data = data if isinstance(data, dict) else {}
    return str(data.get("architecture") or ""), str(data.get("preset") or "")


def shipped_choices(folders: list[Path] | None = None) -> list[ModelChoice]:
    """The model files shipped with LegSeg: the starter models first (the U-Net, which a new store
    makes active, at the top), then any others by name."""
    from legseg_core.starter.ship import STARTER_NAMES

    files = {p.resolve() for folder in (folders or shipped_folders()) if folder.is_dir()
             for pattern in MODEL_FILE_PATTERNS for p in folder.glob(pattern)}

    def order(path: Path) -> tuple[int, str]:
        stem = path.name.split(".")[0]
        return (STARTER_NAMES.index(stem) if stem in STARTER_NAMES else len(STARTER_NAMES), path.name)

    return [file_choice(path, "shipped") for path in sorted(files, key=order)]


def available_devices() -> list[str]:
    """``auto`` and ``cpu``, then ``cuda`` and ``mps`` where this machine seems to have them.

    Without torch loaded, CUDA is assumed where an NVIDIA driver is installed and MPS on Apple
    silicon; once torch is loaded (e.g. by a segmentation) its answer is used.
    """
    torch = sys.modules.get("torch")
    if torch is not None:
        cuda = bool(torch.cuda.is_available())
        mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    else:
        cuda = Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None
        mps = sys.platform == "darwin" and platform.machine() == "arm64"
    return ["auto", "cpu"] + (["cuda"] if cuda else []) + (["mps"] if mps else [])


class ModelPickerWidget(QWidget):
    """A model combo (registered, shipped, added files), an "Add file…" button, and a device combo.

    ``choice_changed(choice)`` carries the chosen :class:`ModelChoice` (or None). With
    ``background``, the registry is first read on a worker thread.
    """

    choice_changed = Signal(object)

    def __init__(self, store: Store | None = None, *, shipped: list[Path] | None = None, background: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._reader: ProgressWorker | None = None
        self._shipped_folders = shipped
        self._added: list[ModelChoice] = []
        self._choices: list[ModelChoice] = []
        self.model_combo = QComboBox()
        # a model's title is long (architecture, id, status, Dice): the box may be narrower than its title,
        # which its tooltip shows whole, so that it does not widen the panel beside the image
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(18)
        self.add_button = QPushButton("Add file…")
        self.add_button.setToolTip("segment with a LegSeg model file (.pt)")
        self.device_combo = QComboBox()
        self.info_label = QLabel()
        self.info_label.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.model_combo, 1)
        row.addWidget(self.add_button)
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addRow("Model", row)
        layout.addRow("Device", self.device_combo)
        layout.addRow(self.info_label)
        self.model_combo.currentIndexChanged.connect(self._on_model_chosen)
        self.add_button.clicked.connect(self._on_add_clicked)
        self.refresh_devices()
        self.refresh(background=background)

    # ---- contents -----------------------------------------------------------------------------------

    def set_store(self, store: Store | None) -> None:
        """List another store's registered models."""
        self.store = store
        self.refresh()

    def refresh(self, *, background: bool = False) -> None:
        """Read the registered and shipped models again, keeping the chosen one when it is still there.

        ``background`` reads the registry on a worker thread (it imports the training package,
        a fraction of a second at start-up) and fills the list when done."""
        if self.store is None:
            self._fill([])
            return
        if not background:
            self._fill(_registered_or_none(self.store))
            return
        self._reader = ProgressWorker.call(_registered_or_none, self.store, what="reading the model registry")
        self._reader.finished.connect(self._fill)
        self._reader.start()

    def _fill(self, registered: list[ModelChoice]) -> None:
        previous = self.current_choice()
        choices = registered + shipped_choices(self._shipped_folders) + self._added
        self._set_choices(choices, previous.key if previous else None)

    def refresh_devices(self) -> None:
        """List the devices again (after torch was loaded, its answer replaces the guess)."""
        current = self.device_combo.currentText() or "auto"
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        self.device_combo.addItems(available_devices())
        self.device_combo.setCurrentText(current)
        self.device_combo.blockSignals(False)

    def add_model_file(self, path: str | Path) -> ModelChoice:
        """Offer a model file and choose it."""
        choice = file_choice(path)
        if not choice.path.is_file():  # type: ignore[union-attr]
            raise LegsegError(f"model file {choice.path} does not exist")
        self._added = [c for c in self._added if c.key != choice.key] + [choice]
        self._set_choices([c for c in self._choices if c.key != choice.key] + [choice], choice.key)
        return choice

    # ---- what is chosen -------------------------------------------------------------------------------

    def choices(self) -> list[ModelChoice]:
        """Every model offered, in the order shown."""
        return list(self._choices)

    def current_choice(self) -> ModelChoice | None:
        index = self.model_combo.currentIndex()
        return self._choices[index] if 0 <= index < len(self._choices) else None

    def choose(self, key_or_name: str) -> ModelChoice:
        """Choose a model by its key, registry id or file name."""
        for index, choice in enumerate(self._choices):
            if key_or_name in (choice.key, choice.name, choice.model_id):
                self.model_combo.setCurrentIndex(index)
                return choice
        raise LegsegError(f"no model {key_or_name!r} is offered; offered: "
                          f"{', '.join(c.name for c in self._choices) or 'none'}")

    @property
    def device(self) -> str:
        return self.device_combo.currentText() or "auto"

    def set_device(self, device: str) -> None:
        if self.device_combo.findText(device) < 0:
            raise LegsegError(f"device {device!r} is not available here; available: "
                              f"{', '.join(self.device_combo.itemText(i) for i in range(self.device_combo.count()))}")
        self.device_combo.setCurrentText(device)

    # ---- slots ------------------------------------------------------------------------------------------

    def _set_choices(self, choices: list[ModelChoice], keep: str | None) -> None:
        self._choices = choices
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for choice in choices:
            self.model_combo.addItem(choice.title, choice.key)
            self.model_combo.setItemData(self.model_combo.count() - 1, choice.title, Qt.ItemDataRole.ToolTipRole)
        keys = [c.key for c in choices]
        self.model_combo.setCurrentIndex(keys.index(keep) if keep in keys else (0 if choices else -1))
        self.model_combo.blockSignals(False)
        if not choices:
            self.info_label.setText("No model yet: register one with `legseg train`, or add a model file.")
        self._on_model_chosen(self.model_combo.currentIndex())

    def _on_model_chosen(self, _index: int) -> None:
        choice = self.current_choice()
        self.model_combo.setToolTip(choice.title if choice is not None else "")
        if choice is not None:
            kind = f"{choice.architecture}/{choice.preset}" if choice.architecture else "model file"
            self.info_label.setText(f"{kind}: {choice.status}" + (f" · {choice.path}" if choice.path else ""))
        self.choice_changed.emit(choice)

    def _on_add_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a LegSeg model file", "",
                                              "LegSeg models (*.pt *.pth);;All files (*)")
        if path:
            try:
                self.add_model_file(path)
            except LegsegError as error:
                self.info_label.setText(str(error))
