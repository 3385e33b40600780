"""A combo box listing the viewer's image or labels layers, kept current as layers come and go."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QComboBox, QWidget

from legseg_napari._layers import layers_of_kind

if TYPE_CHECKING:
    from napari import Viewer
    from napari.layers import Layer


class LayerComboBox(QComboBox):
    """The names of the viewer's 3D layers of one kind ('image' or 'labels'); ``layer()`` is the chosen one.

    ``layer_changed(object)`` carries the newly chosen layer (or None). The list follows the
    viewer's layer list (insertions, removals, renames); the choice stays on the same layer
    while it exists.
    """

    layer_changed = Signal(object)

    def __init__(self, viewer: Viewer, kind: str, *, exclude: tuple[str, ...] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer, self.kind, self.exclude = viewer, kind, exclude
        self._layers: list[Any] = []
        self._refreshing = False
        viewer.layers.events.inserted.connect(self._on_layers_changed)
        viewer.layers.events.removed.connect(self._on_layers_changed)
        viewer.layers.events.moved.connect(self._on_layers_changed)
        self.currentIndexChanged.connect(self._on_index_changed)
        self._on_layers_changed()

    def layer(self) -> Any | None:
        """The chosen layer, or None when the viewer has none of this kind."""
        index = self.currentIndex()
        return self._layers[index] if 0 <= index < len(self._layers) else None

    def layers(self) -> list[Any]:
        """Every listed layer, in the viewer's order."""
        return list(self._layers)

    def set_layer(self, layer: Layer) -> None:
        """Choose ``layer`` (it must be listed)."""
        self.setCurrentIndex(self._layers.index(layer))

    def _eligible(self) -> list[Any]:
        return [layer for layer in layers_of_kind(self.viewer, self.kind)
                if not any(layer.metadata.get(key) for key in self.exclude)]

    def _on_layers_changed(self, event: Any = None) -> None:
        chosen = self.layer()
        for layer in self._layers:
            layer.events.name.disconnect(self._on_layers_changed)
        self._layers = self._eligible()
        for layer in self._layers:
            layer.events.name.connect(self._on_layers_changed)
        self._refreshing = True
        try:
            self.clear()
            self.addItems([layer.name for layer in self._layers])
            if chosen in self._layers:
                self.setCurrentIndex(self._layers.index(chosen))
        finally:
            self._refreshing = False
        if self.layer() is not chosen:
            self.layer_changed.emit(self.layer())

    def _on_index_changed(self, _index: int) -> None:
        if not self._refreshing:
            self.layer_changed.emit(self.layer())
