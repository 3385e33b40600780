"""What the image view shows: slice, window/level, overlay kind, opacity and outline.

:class:`SliceViewState` is the model behind the slice view and its display controls; both
write to it and listen to ``events.changed`` (called with the changed field's name). Pure
Python, no Qt.
"""

from __future__ import annotations

from types import SimpleNamespace

from legseg_core.editing.events import EventEmitter

#: What the view overlays on the scan: the labels, the Figure 4 overlap map, or nothing.
OVERLAYS: tuple[str, ...] = ("labels", "overlap", "none")
MIN_WINDOW = 1e-6


class SliceViewState:
    """Axial slice ``z`` (0..depth-1), intensity window and level, overlay kind, opacity (0..1), outline."""

    def __init__(self, *, depth: int = 1, overlay: str = "labels", opacity: float = 0.5, outline: bool = False) -> None:
        self.events = SimpleNamespace(changed=EventEmitter("changed"))
        self._depth, self._z = max(int(depth), 1), 0
        self._window, self._level = 1.0, 0.5
        self.default_window: tuple[float, float] = (1.0, 0.5)
        #: Window/level presets by name (set from the scan by the view); the first is the default.
        self.window_presets: dict[str, tuple[float, float]] = {}
        self._overlay, self._opacity, self._outline = "labels", 0.5, False
        self._hidden_labels: frozenset[int] = frozenset()
        self._smooth, self._highlight = False, 0
        self.overlay, self.opacity, self.outline = overlay, opacity, outline

    @property
    def depth(self) -> int:
        """The number of axial slices."""
        return self._depth

    @depth.setter
    def depth(self, depth: int) -> None:
        self._set("depth", max(int(depth), 1))
        self.z = self._z

    @property
    def z(self) -> int:
        return self._z

    @z.setter
    def z(self, z: int) -> None:
        """Scrolling past either end stays on the end slice."""
        self._set("z", min(max(int(z), 0), self._depth - 1))

    @property
    def window(self) -> tuple[float, float]:
        """(window, level) of the intensity mapping: level - window/2 is black, level + window/2 white."""
        return self._window, self._level

    def set_window(self, window: float, level: float) -> None:
        """Set window and level (the window is kept above a tiny positive value)."""
        window, level = max(float(window), MIN_WINDOW), float(level)
        if (window, level) != (self._window, self._level):
            self._window, self._level = window, level
            self.events.changed.emit("window")

    def reset_window(self) -> None:
        """Back to ``default_window`` (set from the volume's intensities by the view)."""
        self.set_window(*self.default_window)

    def apply_preset(self, name: str) -> None:
        """Set the window and level of a preset of :attr:`window_presets`."""
        if name not in self.window_presets:
            raise ValueError(f"unknown window preset {name!r}; choose one of {', '.join(self.window_presets)}")
        self.set_window(*self.window_presets[name])

    @property
    def smooth(self) -> bool:
        """Draw the scan with smooth (bilinear) interpolation instead of square voxels."""
        return self._smooth

    @smooth.setter
    def smooth(self, smooth: bool) -> None:
        self._set("smooth", bool(smooth))

    @property
    def hidden_labels(self) -> frozenset[int]:
        """Muscle ids not drawn in the overlay."""
        return self._hidden_labels

    def toggle_label(self, label: int) -> None:
        """Hide a shown muscle, or show a hidden one."""
        self._set("hidden_labels", self._hidden_labels ^ {int(label)})

    @property
    def highlight(self) -> int:
        """The muscle id drawn over the others dimmed (the legend row under the cursor), 0 for none."""
        return self._highlight

    @highlight.setter
    def highlight(self, label: int) -> None:
        self._set("highlight", int(label))

    @property
    def overlay(self) -> str:
        return self._overlay

    @overlay.setter
    def overlay(self, overlay: str) -> None:
        if overlay not in OVERLAYS:
            raise ValueError(f"unknown overlay {overlay!r}; choose one of {', '.join(OVERLAYS)}")
        self._set("overlay", overlay)

    @property
    def opacity(self) -> float:
        return self._opacity

    @opacity.setter
    def opacity(self, opacity: float) -> None:
        self._set("opacity", min(max(float(opacity), 0.0), 1.0))

    @property
    def outline(self) -> bool:
        return self._outline

    @outline.setter
    def outline(self, outline: bool) -> None:
        self._set("outline", bool(outline))

    def _set(self, name: str, value: object) -> None:
        if getattr(self, f"_{name}") != value:
            setattr(self, f"_{name}", value)
            self.events.changed.emit(name)
