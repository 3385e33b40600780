"""Side panels of the application: segmentation (model, device, run, progress) and editing tools."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QFrame, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from legseg_core.editing import EditingState, LabelEditor
from legseg_gui.edit_tools import EditToolsWidget
from legseg_gui.model_picker import ModelPickerWidget
from legseg_gui.muscle_palette import MusclePaletteWidget
from legseg_gui.progress_widget import ProgressWidget
from legseg_gui.quality_widget import QualityReportWidget

if TYPE_CHECKING:
    from legseg_core.store import Store


class SegmentPanelWidget(QWidget):
    """The model picker, a Segment button, the progress of the running segmentation and the open case's
    quality-control report (flags, volume of each muscle per leg).

    ``segment_requested()`` is emitted by the Segment button, ``segment_new_requested()`` by the
    button that segments every new case of the worklist; the window runs the work and attaches
    its worker to :attr:`progress`.
    """

    segment_requested = Signal()
    segment_new_requested = Signal()
    check_requested = Signal()

    def __init__(self, store: Store | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picker = ModelPickerWidget(store, background=True)
        self.segment_button = QPushButton("Segment")
        self.segment_button.setToolTip("segment the open scan with the chosen model (saved as a predicted version)")
        self.segment_new_button = QPushButton("Segment all new cases")
        self.segment_new_button.setToolTip("segment every case without labels, so the worklist can be sorted by "
                                           "expected correction effort and the most useful case corrected first")
        self.check_button = QPushButton("Check the labels on screen")
        self.check_button.setToolTip("the quality-control report of the labels as they are now, edits included: "
                                     "volume of each muscle per leg, left/right ratios, missing or fragmented "
                                     "muscles (the network's uncertainty is not part of it)")
        self.progress = ProgressWidget()
        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.quality = QualityReportWidget()
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.picker)
        layout.addWidget(self.segment_button)
        layout.addWidget(self.segment_new_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.result_label)
        layout.addWidget(self.check_button)
        layout.addWidget(self.quality)
        layout.addStretch(1)
        scroll = QScrollArea()  # the quality report may need more height than the panel has: it scrolls
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.segment_button.clicked.connect(self.segment_requested)
        self.segment_new_button.clicked.connect(self.segment_new_requested)
        self.check_button.clicked.connect(self.check_requested)
        self.set_ready(False, False)

    def set_ready(self, case: bool, new_cases: bool) -> None:
        """Enable the buttons: Segment and the check when a case is open, the other when there are new cases
        (and no segmentation runs)."""
        self.segment_button.setEnabled(case)
        self.check_button.setEnabled(case)
        self.segment_new_button.setEnabled(new_cases)


class EditPanelWidget(QWidget):
    """The muscle palette (keys 1..7, 0 for the eraser) and the editing tools (undo, redo, interpolate)."""

    def __init__(self, state: EditingState, editor: LabelEditor | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.palette = MusclePaletteWidget(state)
        self.tools = EditToolsWidget(state, editor)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Muscle (keys 1–7, 0 erases)"))
        layout.addWidget(self.palette)
        layout.addWidget(self.tools)
        layout.addStretch(1)

    def set_editor(self, editor: LabelEditor | None) -> None:
        self.tools.set_editor(editor)
