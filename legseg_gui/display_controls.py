"""Display controls of the image view: overlay kind, opacity, outline, window/level presets, smooth display."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QCheckBox, QComboBox, QGridLayout, QLabel, QPushButton, QSlider, QWidget

from legseg_gui._events import connect_while_alive
from legseg_gui.view_state import OVERLAYS, SliceViewState

OVERLAY_NAMES = {"labels": "Labels", "overlap": "Overlap map", "none": "No overlay"}


class DisplayControlsWidget(QWidget):
    """A row of controls that write to a :class:`SliceViewState` and follow its changes."""

    def __init__(self, state: SliceViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.overlay_combo = QComboBox()
        for overlay in OVERLAYS:
            self.overlay_combo.addItem(OVERLAY_NAMES[overlay], overlay)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip("overlay opacity")
        self.outline_check = QCheckBox("Outline")
        self.smooth_check = QCheckBox("Smooth")
        self.smooth_check.setToolTip("draw the scan with smooth interpolation instead of square voxels")
        self.preset_combo = QComboBox()
        self.preset_combo.setToolTip("window/level from the body's intensity percentiles (right drag adjusts)")
        self.reset_button = QPushButton("Reset W/L")
        self.reset_button.setToolTip("back to the default window and level (right drag changes them)")
        layout = QGridLayout(self)  # two rows, so the image view stays narrow enough to share its width
        layout.setContentsMargins(0, 0, 0, 0)
        for column, widget in enumerate((self.overlay_combo, QLabel("Opacity"), self.opacity_slider)):
            layout.addWidget(widget, 0, column)
        layout.addWidget(self.outline_check, 0, 3)
        for column, widget in enumerate((self.preset_combo, self.smooth_check, self.reset_button)):
            layout.addWidget(widget, 1, column if column == 0 else column + 1, 1, 2 if column == 0 else 1)
        self.preset_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset_combo.setMinimumContentsLength(12)
        self.preset_combo.activated.connect(self._on_preset_chosen)
        self.smooth_check.toggled.connect(self._on_smooth_toggled)
        self.overlay_combo.currentIndexChanged.connect(self._on_overlay_chosen)
        self.opacity_slider.valueChanged.connect(self._on_opacity_moved)
        self.outline_check.toggled.connect(self._on_outline_toggled)
        self.reset_button.clicked.connect(self._on_reset_clicked)
        connect_while_alive(self, state.events.changed, self._on_state_changed)
        self._on_state_changed("all")

    def _on_overlay_chosen(self, index: int) -> None:
        self.state.overlay = self.overlay_combo.itemData(index)

    def _on_opacity_moved(self, value: int) -> None:
        self.state.opacity = value / 100

    def _on_outline_toggled(self, checked: bool) -> None:
        self.state.outline = checked

    def _on_reset_clicked(self) -> None:
        self.state.reset_window()

    def _on_preset_chosen(self, index: int) -> None:
        self.state.apply_preset(self.preset_combo.itemText(index))

    def _on_smooth_toggled(self, checked: bool) -> None:
        self.state.smooth = checked

    def set_presets(self, names: list[str]) -> None:
        """List the window/level presets of the shown scan (the first is the default)."""
        self.preset_combo.clear()
        self.preset_combo.addItems(names)

    def _on_state_changed(self, name: str) -> None:
        if name in ("overlay", "all"):
            self.overlay_combo.setCurrentIndex(OVERLAYS.index(self.state.overlay))
        if name in ("opacity", "all"):
            self.opacity_slider.setValue(round(self.state.opacity * 100))
        if name in ("outline", "all"):
            self.outline_check.setChecked(self.state.outline)
        if name in ("smooth", "all"):
            self.smooth_check.setChecked(self.state.smooth)
