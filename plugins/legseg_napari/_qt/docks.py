"""How the LegSeg docks open in napari: tabbed together in one dock area, with a 3D view that starts oblique.

Each dock widget calls :func:`dock_opened` when it is built. When napari first shows such a
widget inside a dock, that dock joins the other LegSeg docks as a tab (so four docks take the
height of one and the window fits a 1920 x 1080 screen). The first dock also makes napari's 3D
view open with an oblique camera (from the front, the patient's right and above, superior up)
instead of looking straight down the leg. The first LegSeg dock of a window takes width from
napari's canvas, and napari keeps its zoom: a scan fitted to the wider canvas would be cut off at
both sides (the legs of a bilateral scan half hidden), so the view is fitted again once then.
"""

from __future__ import annotations

import weakref
from typing import Any

from qtpy.QtCore import QEvent, QObject, QTimer
from qtpy.QtWidgets import QDockWidget, QMainWindow, QWidget

#: The property that marks a LegSeg dock widget.
MARK = "legseg_dock"
#: The property of a LegSeg dock already placed (the first one placed is where the others become tabs).
PLACED = "legseg_dock_placed"
#: The 3D camera's view direction and up direction, in napari's (z, y, x) world order: looking toward the
#: posterior and the patient's left, a little downward; superior up.
OBLIQUE_VIEW = (-0.35, 0.8, 0.5)
SUPERIOR_UP = (1.0, 0.0, 0.0)

_viewers_with_camera: "weakref.WeakSet[Any]" = weakref.WeakSet()


class _TabWhenDocked(QObject):
    """Tabs a marked widget's dock with the other LegSeg docks the first time it is shown."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Show:
            watched.removeEventFilter(self)
            widget = weakref.ref(watched)  # napari places the dock after showing it: tab it on the next turn
            QTimer.singleShot(0, lambda: _tab_if_alive(widget()))
        return False


def _tab_if_alive(widget: QObject | None) -> None:
    if isinstance(widget, QWidget):
        first = tab_with_legseg_docks(widget)
        viewer_ref = _viewer_of.get(widget)
        if first and viewer_ref is not None:  # on the next turn: after the canvas has taken its new size
            QTimer.singleShot(0, lambda: _fit_view(viewer_ref()))


def _fit_view(viewer: Any) -> None:
    """Fit the layers to napari's canvas again (its zoom was set for a wider one)."""
    if viewer is not None and len(viewer.layers):
        viewer.reset_view()


#: The viewer of each LegSeg dock widget (to fit its view when the first dock has narrowed the canvas);
#: weak both ways, so that a closed viewer is not kept alive.
_viewer_of: "weakref.WeakKeyDictionary[QObject, weakref.ref[Any]]" = weakref.WeakKeyDictionary()


_TABBER = _TabWhenDocked()


def dock_of(widget: QWidget) -> QDockWidget | None:
    """The dock widget that holds ``widget``, or None."""
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    return parent


def legseg_docks(window: QMainWindow) -> list[QDockWidget]:
    """The window's docks that hold a LegSeg widget (napari may wrap it in a scroll area)."""
    docks = []
    for dock in window.findChildren(QDockWidget):
        inner = dock.widget()
        if inner is not None and (inner.property(MARK) or any(c.property(MARK) for c in inner.findChildren(QWidget))):
            docks.append(dock)
    return docks


def tab_with_legseg_docks(widget: QWidget) -> bool:
    """Put the dock holding ``widget`` as a tab onto the first LegSeg dock placed before it, and raise it;
    True when it is the window's first LegSeg dock (nothing to tab onto)."""
    dock = dock_of(widget)
    window = dock.parentWidget() if dock is not None else None
    if dock is None or not isinstance(window, QMainWindow):
        return False
    placed = [other for other in legseg_docks(window)
              if other is not dock and other.property(PLACED) and not other.isFloating()]
    dock.setProperty(PLACED, True)
    if placed:
        window.tabifyDockWidget(placed[0], dock)
        dock.raise_()
    fit_on_screen(window)
    return not placed


def fit_on_screen(window: QMainWindow) -> None:
    """Shrink a window that grew past its screen's free area (docks added one under another make it tall)."""
    screen = window.screen()
    if screen is None:
        return
    available = screen.availableGeometry()
    width, height = min(window.width(), available.width()), min(window.height(), available.height())
    if (width, height) != (window.width(), window.height()):
        window.resize(width, height)


def dock_opened(widget: QWidget, viewer: Any) -> QWidget:
    """Mark a dock widget as LegSeg's, tab it with the others when docked, and set up the oblique 3D camera."""
    widget.setProperty(MARK, True)
    widget.installEventFilter(_TABBER)
    _viewer_of[widget] = weakref.ref(viewer)
    use_oblique_camera(viewer)
    return widget


def use_oblique_camera(viewer: Any) -> None:
    """Whenever ``viewer`` switches to 3D, look at the scene obliquely (see :data:`OBLIQUE_VIEW`)."""
    if viewer in _viewers_with_camera:
        return
    _viewers_with_camera.add(viewer)
    viewer_ref = weakref.ref(viewer)  # the viewer's own event must not keep it alive

    def on_ndisplay(event: Any) -> None:
        current = viewer_ref()
        if event.value == 3 and current is not None:
            set_oblique_camera(current)

    viewer.dims.events.ndisplay.connect(on_ndisplay)


def set_oblique_camera(viewer: Any) -> None:
    """Turn the 3D camera to :data:`OBLIQUE_VIEW` with superior up."""
    scene = getattr(viewer, "scene", None)  # napari 0.9 moved the camera to viewer.scene
    camera = scene.camera if scene is not None else viewer.camera
    camera.set_view_direction(OBLIQUE_VIEW, up_direction=SUPERIOR_UP)
