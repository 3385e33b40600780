"""The image view: axial slices of a scan with the label or overlap overlay, and painting.

:class:`SliceViewWidget` shows ``volume.data[z]`` (``[z, y, x]``, no flips: anterior up, the
patient's right on the screen's left, with the in-plane spacing's aspect) through a
:class:`~legseg_gui.slice_canvas.SliceCanvasWidget`. It keeps no copy of any state: the
slice, window/level and overlay live in a :class:`~legseg_gui.view_state.SliceViewState`, the
tool in an :class:`~legseg_core.editing.EditingState`, the labels in a
:class:`~legseg_core.editing.LabelEditor` (which it paints through), and the overlap map in the
caller's ``[z, y, x]`` array (e.g. ``OverlapTracker.map``, updated in place). Re-rendering is
deferred to the event loop, so several edits between two frames render once, after every
listener (such as the overlap tracker) has taken them in.
"""

from __future__ import annotations

import math

import numpy as np
from qtpy.QtCore import Qt, QTimer, Signal
from qtpy.QtGui import QPixmap
from qtpy.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from legseg_core.editing import EditingError, EditingState, LabelEditor, Region
from legseg_core.errors import GridMismatchError
from legseg_core.io import Volume
from legseg_core.labels import OVERLAP_BY_ID, muscle_name
from legseg_gui._events import connect_while_alive
from legseg_gui.controls_help import ControlsOverlayWidget
from legseg_gui.display_controls import DisplayControlsWidget
from legseg_gui.display_window import DEFAULT_PRESET, body_extent
from legseg_gui.muscle_legend import MuscleLegendWidget
from legseg_gui.overlap_legend import OverlapLegendWidget
from legseg_gui.qimage import gray_pixmap, rgba_pixmap
from legseg_gui.rendering import muscle_table, overlap_rgba, overlay_rgba, window_to_gray
from legseg_gui.slice_canvas import SliceCanvasWidget
from legseg_gui.view_state import SliceViewState

#: Right drag: screen pixels to relative window change and level change (in windows).
WINDOW_DRAG_RATE = 0.005


def overlay_slice(view: "SliceViewWidget", index: tuple) -> np.ndarray | None:
    """The RGBA overlay of ``view``'s labels or overlap map at ``index`` (a slice or section of ``[z, y, x]``).

    The overlap map carries the muscles' outlines (never a blend of both); None without an overlay."""
    state, editor, volume = view.view_state, view.editor, view.volume
    labels = editor.labels if editor is not None and volume is not None and editor.shape == volume.shape else None
    table = muscle_table(state.hidden_labels, state.highlight)
    if state.overlay == "labels" and labels is not None:
        return overlay_rgba(labels[index], table, outline=state.outline)
    if state.overlay == "overlap" and view.overlap is not None and volume is not None \
            and view.overlap.shape == volume.shape:
        return overlap_rgba(view.overlap[index], None if labels is None else labels[index], outline=state.outline,
                            table=table)
    return None


class SliceViewWidget(QWidget):
    """Axial slices with overlay, window/level, zoom, pan, the muscle under the cursor, and painting.

    ``muscle_hovered(label, name)`` is emitted when the label under the cursor changes (-1 and
    '' off the image); ``status_changed(text)`` carries the status line (position, intensity,
    muscle, or an editing message).
    """

    muscle_hovered = Signal(int, str)
    status_changed = Signal(str)

    def __init__(self, volume: Volume | None = None, editor: LabelEditor | None = None, *,
                 tool_state: EditingState | None = None, view_state: SliceViewState | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view_state = view_state if view_state is not None else SliceViewState()
        self.tool_state = tool_state if tool_state is not None else EditingState()
        self._volume: Volume | None = None
        self._editor: LabelEditor | None = None
        self._overlap: np.ndarray | None = None
        self._hover, self._hovered_label = (math.nan, math.nan), -1
        self._last_paint: tuple[float, float] | None = None
        self._pending: set[str] = set()
        self._build()
        connect_while_alive(self, self.view_state.events.changed, self._on_view_changed)
        connect_while_alive(self, self.tool_state.events.changed, self._on_tool_changed)
        self._on_tool_changed("tool")
        if volume is not None:
            self.set_volume(volume)
        if editor is not None:
            self.set_editor(editor)

    def _build(self) -> None:
        self.canvas = SliceCanvasWidget()
        self.slice_slider = QSlider(Qt.Orientation.Horizontal)
        self.slice_label = QLabel()
        self.controls = DisplayControlsWidget(self.view_state)
        self.legend = OverlapLegendWidget()
        self.status_label = QLabel()
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(0)
        self._render_timer.timeout.connect(self.refresh)
        slider_row = QHBoxLayout()
        slider_row.addWidget(self.slice_label)
        slider_row.addWidget(self.slice_slider, 1)
        self.muscle_legend = MuscleLegendWidget(self.view_state)
        self.controls_overlay = ControlsOverlayWidget(self.canvas)
        image_row = QHBoxLayout()
        image_row.setContentsMargins(0, 0, 0, 0)
        image_row.addWidget(self.canvas, 1)
        image_row.addWidget(self.muscle_legend)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(image_row, 1)
        layout.addLayout(slider_row)
        layout.addWidget(self.controls)
        layout.addWidget(self.legend)
        layout.addWidget(self.status_label)
        self.legend.setVisible(self.view_state.overlay == "overlap")
        self.slice_slider.valueChanged.connect(self._on_slider_moved)
        self.canvas.slice_stepped.connect(self._on_slice_stepped)
        self.canvas.hovered.connect(self._on_hovered)
        self.canvas.window_dragged.connect(self._on_window_dragged)
        self.canvas.paint_pressed.connect(self._on_paint_pressed)
        self.canvas.paint_moved.connect(self._on_paint_moved)
        self.canvas.paint_released.connect(self._on_paint_released)

    # ---- what is shown -----------------------------------------------------------------------

    @property
    def volume(self) -> Volume | None:
        return self._volume

    @property
    def editor(self) -> LabelEditor | None:
        return self._editor

    @property
    def overlap(self) -> np.ndarray | None:
        """The overlap map ``[z, y, x]`` shown as the 'overlap' overlay (None when none was given)."""
        return self._overlap

    def set_volume(self, volume: Volume) -> None:
        """Show a scan: the slider spans its slices, the window/level resets, the slice fits the view.

        An editor whose labels do not share the new scan's shape is let go (``editor`` becomes None).
        """
        if self._editor is not None and self._editor.shape != volume.shape:
            self.set_editor(None)
        self._volume = volume
        self.view_state.depth = volume.shape[0]
        extent = body_extent(volume.data)
        self.view_state.window_presets = extent.presets
        self.view_state.default_window = extent.presets[DEFAULT_PRESET]
        self.view_state.reset_window()
        self.canvas.set_grid(volume.shape[1:], volume.spacing[1:])
        self.canvas.set_body_box(extent.box)
        self.controls.set_presets(list(extent.presets))
        self._schedule("image", "overlay")

    def set_editor(self, editor: LabelEditor | None) -> None:
        """Show (and paint through) an editor's labels, or none; they must share the scan's grid."""
        if editor is not None and self._volume is not None and editor.shape != self._volume.shape:
            raise GridMismatchError(f"labels of shape {editor.shape} do not fit the scan {self._volume.name} "
                                    f"of shape {self._volume.shape}")
        if self._editor is not None:
            self._editor.events.labels_changed.disconnect(self._on_labels_changed)
        self._editor, self._last_paint = editor, None
        if editor is not None:
            connect_while_alive(self, editor.events.labels_changed, self._on_labels_changed)
        self._schedule("overlay")

    def set_overlap(self, overlap: np.ndarray | None) -> None:
        """The Figure 4 overlap map ``[z, y, x]`` (classes 0..4) shown as the 'overlap' overlay, or None."""
        if overlap is not None and self._volume is not None and tuple(overlap.shape) != self._volume.shape:
            raise GridMismatchError(f"an overlap map of shape {tuple(overlap.shape)} does not fit the scan "
                                    f"{self._volume.name} of shape {self._volume.shape}")
        self._overlap = overlap
        self._schedule("overlay")

    def overlay_changed(self, region: Region | None = None) -> None:
        """Re-render the overlay if ``region`` (None: anywhere) touches the shown slice."""
        if region is None or region[0].start <= self.view_state.z < region[0].stop:
            self._schedule("overlay")

    # ---- rendering ---------------------------------------------------------------------------

    def _schedule(self, *parts: str) -> None:
        self._pending.update(parts)
        self._render_timer.start()

    def render(self) -> None:
        """Re-render the slice and its overlay now."""
        self._pending.update(("image", "overlay"))
        self.refresh()

    def refresh(self) -> None:
        """Render whatever changed since the last frame, now."""
        self._render_timer.stop()
        pending, self._pending = self._pending, set()
        if self._volume is None:
            return
        if "image" in pending:
            window, level = self.view_state.window
            self.canvas.set_image(gray_pixmap(window_to_gray(self._volume.data[self.view_state.z], window, level)))
        if "overlay" in pending:
            self.canvas.set_overlay(self._overlay_pixmap())
            self.canvas.set_overlay_opacity(self.view_state.opacity)
        self._update_status()

    def _overlay_pixmap(self) -> QPixmap:
        rgba = overlay_slice(self, (self.view_state.z,))
        return QPixmap() if rgba is None else rgba_pixmap(rgba)

    # ---- model events ------------------------------------------------------------------------

    def _on_view_changed(self, name: str) -> None:
        state = self.view_state
        if name == "depth":
            self.slice_slider.setRange(0, state.depth - 1)
        elif name == "z":
            self.slice_slider.setValue(state.z)
            self._schedule("image", "overlay")
        elif name == "window":
            self._schedule("image")
        elif name in ("overlay", "outline", "hidden_labels", "highlight"):
            self.legend.setVisible(state.overlay == "overlap")
            self._schedule("overlay")
        elif name == "smooth":
            self.canvas.set_smooth(state.smooth)
        elif name == "opacity":
            self.canvas.set_overlay_opacity(state.opacity)
        self.slice_label.setText(f"slice {state.z} / {state.depth - 1}")

    def _on_tool_changed(self, name: str) -> None:
        painting = self.tool_state.tool in ("brush", "eraser")
        self.canvas.set_brush_radius(self.tool_state.brush_radius if painting else None)

    def _on_labels_changed(self, region: Region) -> None:
        self.overlay_changed(region)

    # ---- gestures ----------------------------------------------------------------------------

    def _on_slider_moved(self, value: int) -> None:
        self.view_state.z = value

    def _on_slice_stepped(self, steps: int) -> None:
        self.view_state.z = self.view_state.z + steps

    def _on_window_dragged(self, dx: float, dy: float) -> None:
        window, level = self.view_state.window
        self.view_state.set_window(window * math.exp(dx * WINDOW_DRAG_RATE), level - dy * window * WINDOW_DRAG_RATE)

    def _on_paint_pressed(self, y: float, x: float) -> None:
        if self._editor is None or self._volume is None:
            return
        state, z = self.tool_state, self.view_state.z
        seed = (math.floor(y + 0.5), math.floor(x + 0.5))
        try:
            if state.tool in ("brush", "eraser"):
                self._editor.begin_stroke(state.tool)
                self._last_paint = (y, x)
                self._paint_to(y, x)
            elif state.tool == "fill":
                self._editor.fill(z, seed, state.active_label)
            else:
                self._editor.relabel((z, *seed), state.active_label, three_d=state.relabel_3d)
        except EditingError as error:
            self._show_message(str(error))

    def _on_paint_moved(self, y: float, x: float) -> None:
        if self._last_paint is not None and self._editor is not None:
            self._paint_to(y, x)

    def _on_paint_released(self) -> None:
        if self._last_paint is not None and self._editor is not None:
            self._last_paint = None
            self._editor.end_stroke()

    def _paint_to(self, y: float, x: float) -> None:
        start, self._last_paint = self._last_paint, (y, x)
        state = self.tool_state
        self._editor.paint(self.view_state.z, start, (y, x), radius=state.brush_radius,  # type: ignore[union-attr]
                           label=state.painting_label, paint_over=state.paint_over)

    def _on_hovered(self, y: float, x: float) -> None:
        self._hover = (y, x)
        self._update_status()

    # ---- status ------------------------------------------------------------------------------

    def hovered_voxel(self) -> tuple[int, int, int] | None:
        """The ``(z, y, x)`` voxel under the cursor, or None off the image."""
        if self._volume is None or math.isnan(self._hover[0]):
            return None
        y, x = (math.floor(v + 0.5) for v in self._hover)
        if not (0 <= y < self._volume.shape[1] and 0 <= x < self._volume.shape[2]):
            return None
        return self.view_state.z, y, x

    def _update_status(self) -> None:
        voxel = self.hovered_voxel()
        label, name = -1, ""
        text = f"slice {self.view_state.z}"
        if voxel is not None:
            label = int(self._editor.labels[voxel]) if self._editor is not None else 0
            name = muscle_name(label)
            text = f"z {voxel[0]}  y {voxel[1]}  x {voxel[2]}   {float(self._volume.data[voxel]):.4g}   {name}"  # type: ignore[union-attr]
            if self.view_state.overlay == "overlap" and self._overlap is not None and self._overlap[voxel]:
                text += f"   [{OVERLAP_BY_ID[int(self._overlap[voxel])].abbr}]"
        self._show_message(text)
        if label != self._hovered_label:
            self._hovered_label = label
            self.muscle_hovered.emit(label, name)

    def _show_message(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_changed.emit(text)
