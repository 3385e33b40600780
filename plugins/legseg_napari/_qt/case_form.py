"""The few facts a case needs when its scan enters the store: contrast, health status, diagnosis."""

from __future__ import annotations

from qtpy.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLineEdit, QWidget

from legseg_core.store import HEALTH_STATUSES, CaseMetadata

CONTRASTS = ("unknown", "t1w", "t2w", "t2", "pd", "dixon_water", "dixon_fat", "dwi", "stir")


class CaseFormWidget(QGroupBox):
    """Contrast, protocol, health status and diagnosis of a scan not yet in the store (no patient data)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("New case (the scan is not in the store yet)", parent)
        self.contrast = QComboBox()
        self.contrast.setEditable(True)
        self.contrast.addItems(CONTRASTS)
        self.protocol = QLineEdit()
        self.health = QComboBox()
        self.health.addItems(HEALTH_STATUSES)
        self.health.setCurrentText("unknown")
        self.diagnosis = QLineEdit()
        self.diagnosis.setPlaceholderText("e.g. Pompe, DM1, IBM (no names or dates)")
        layout = QFormLayout(self)
        layout.addRow("Contrast", self.contrast)
        layout.addRow("Protocol", self.protocol)
        layout.addRow("Health", self.health)
        layout.addRow("Diagnosis", self.diagnosis)

    def metadata(self) -> CaseMetadata:
        """The form as store metadata (checked by the store when the case is added)."""
        return CaseMetadata(contrast=self.contrast.currentText(), protocol=self.protocol.text(),
                            health=self.health.currentText(), diagnosis=self.diagnosis.text())

    def set_values(self, *, contrast: str | None = None, health: str | None = None,
                   diagnosis: str | None = None) -> None:
        """Fill in what is known (from the file, or a test)."""
        if contrast:
            self.contrast.setCurrentText(contrast)
        if health:
            self.health.setCurrentText(health)
        if diagnosis is not None:
            self.diagnosis.setText(diagnosis)
