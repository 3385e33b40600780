"""The dialog that asks what a newly opened scan is before it is added to the store."""

from __future__ import annotations

from qtpy.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout,
                            QWidget)

from legseg_core.errors import LegsegError
from legseg_core.store import HEALTH_STATUSES, CaseMetadata
from legseg_gui.app.metadata import CONTRAST_CHOICES, DIAGNOSIS_CHOICES

ERROR_STYLE = "color: #c62828;"


def _editable_combo(choices: tuple[str, ...], current: str) -> QComboBox:
    combo = QComboBox()
    combo.setEditable(True)
    combo.addItems(list(choices))
    combo.setCurrentText(current)
    return combo


class CaseMetadataDialog(QDialog):
    """Contrast, health status, diagnosis, protocol, site, scanner and notes of a new case.

    Starts from ``defaults`` (see :func:`~legseg_gui.app.metadata.metadata_defaults`); OK is
    refused with the store's message while a value is invalid (e.g. a contrast with spaces
    and symbols). :meth:`metadata` gives the checked :class:`CaseMetadata`.
    """

    def __init__(self, defaults: CaseMetadata, *, source: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add the scan to the store")
        self.contrast_combo = _editable_combo(CONTRAST_CHOICES, defaults.contrast)
        self.health_combo = QComboBox()
        self.health_combo.addItems(list(HEALTH_STATUSES))
        self.health_combo.setCurrentText(defaults.health if defaults.health in HEALTH_STATUSES else "unknown")
        self.diagnosis_combo = _editable_combo(DIAGNOSIS_CHOICES, defaults.diagnosis)
        self.protocol_edit, self.site_edit = QLineEdit(defaults.protocol), QLineEdit(defaults.site)
        self.scanner_edit, self.notes_edit = QLineEdit(defaults.scanner), QLineEdit(defaults.notes)
        self.error_label = QLabel()
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        form = QFormLayout()
        for text, widget in (("Contrast", self.contrast_combo), ("Health status", self.health_combo),
                             ("Diagnosis", self.diagnosis_combo), ("Protocol", self.protocol_edit),
                             ("Site", self.site_edit), ("Scanner", self.scanner_edit), ("Notes", self.notes_edit)):
            form.addRow(text, widget)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if source:
            layout.addWidget(QLabel(f"Scan: {source}\nNo patient names, dates or ids are stored."))
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self._extra = dict(defaults.extra)

    def metadata(self) -> CaseMetadata:
        """The entered metadata, checked (a StoreError names the bad value)."""
        return CaseMetadata(contrast=self.contrast_combo.currentText(), health=self.health_combo.currentText(),
                            diagnosis=self.diagnosis_combo.currentText(), protocol=self.protocol_edit.text(),
                            site=self.site_edit.text(), scanner=self.scanner_edit.text(),
                            notes=self.notes_edit.text(), extra=self._extra).normalised()

    def accept(self) -> None:  # Qt override: refuse invalid values with the store's message
        try:
            self.metadata()
        except LegsegError as error:
            self.error_label.setText(str(error))
            return
        super().accept()
