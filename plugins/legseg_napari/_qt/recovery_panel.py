"""Unsaved corrections autosaved before a crash or restart, offered back: restore or discard."""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QGroupBox, QHBoxLayout, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from legseg_core.recovery import RecoveryArea, RecoveryEntry

ENTRY_ROLE = Qt.ItemDataRole.UserRole


class RecoveryPanelWidget(QGroupBox):
    """The pending entries of one or more recovery areas; hidden when there is nothing to offer.

    ``restore_requested(area, entry)`` asks the owner to open an entry; Discard removes it here.
    """

    restore_requested = Signal(object, object)

    def __init__(self, areas: Callable[[], list[RecoveryArea]], parent: QWidget | None = None) -> None:
        super().__init__("Unsaved corrections from an earlier session", parent)
        self._areas = areas
        self.entries = QListWidget()
        self.restore_button = QPushButton("Restore")
        self.restore_button.clicked.connect(self._on_restore_clicked)
        self.discard_button = QPushButton("Discard")
        self.discard_button.clicked.connect(self._on_discard_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.restore_button)
        buttons.addWidget(self.discard_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.entries)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        """List what the areas hold now (newest first); hide when empty."""
        self.entries.clear()
        seen: set = set()
        for area in self._areas():
            if area.folder in seen:
                continue
            seen.add(area.folder)
            for entry in area.pending():
                item = QListWidgetItem(entry.description)
                item.setData(ENTRY_ROLE, (area, entry))
                self.entries.addItem(item)
        if self.entries.count():
            self.entries.setCurrentRow(0)
        self.setVisible(self.entries.count() > 0)

    def pending_count(self) -> int:
        """How many entries are offered."""
        return self.entries.count()

    def current(self) -> tuple[RecoveryArea, RecoveryEntry] | None:
        """The chosen (area, entry), or None."""
        item = self.entries.currentItem()
        return None if item is None else item.data(ENTRY_ROLE)

    def _on_restore_clicked(self) -> None:
        chosen = self.current()
        if chosen is not None:
            self.restore_requested.emit(*chosen)

    def _on_discard_clicked(self) -> None:
        chosen = self.current()
        if chosen is not None:
            area, entry = chosen
            area.discard(entry)
            self.refresh()
