"""What the user edits with: the active tool, muscle, brush radius and paint-over rule.

:class:`EditingState` is the model behind the palette, the tool panel and the image view:
each writes to it and listens to ``events.changed`` (called with the changed field's name), so
no widget keeps a copy. It validates every value it is given.
"""

from __future__ import annotations

from types import SimpleNamespace

from legseg_core.editing.errors import EditingError
from legseg_core.editing.events import EventEmitter
from legseg_core.labels import MUSCLE_IDS

#: The tools, in the order the tool panel shows them.
TOOLS: tuple[str, ...] = ("brush", "eraser", "fill", "relabel")
MAX_BRUSH_RADIUS = 50


class EditingState:
    """The active tool, muscle (1..7), brush radius (voxels; 0 paints one voxel) and paint-over rule.

    ``paint_over`` is None (paint over anything), 0 (only over background) or a muscle id (only
    over that muscle; with the eraser, erase only that muscle). ``relabel_3d`` makes relabel act
    on the 6-connected region in the volume instead of the slice.
    """

    def __init__(self, *, tool: str = "brush", active_label: int = MUSCLE_IDS[0], brush_radius: int = 3,
                 paint_over: int | None = None, relabel_3d: bool = False) -> None:
        self.events = SimpleNamespace(changed=EventEmitter("changed"))
        self._tool, self._active_label, self._brush_radius = "brush", MUSCLE_IDS[0], 3
        self._paint_over: int | None = None
        self._relabel_3d = False
        self.tool, self.active_label, self.brush_radius = tool, active_label, brush_radius
        self.paint_over, self.relabel_3d = paint_over, relabel_3d

    @property
    def tool(self) -> str:
        return self._tool

    @tool.setter
    def tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise EditingError(f"unknown editing tool {tool!r}; the tools are {', '.join(TOOLS)}")
        self._set("tool", tool)

    @property
    def active_label(self) -> int:
        """The muscle that brush, fill and relabel write (1..7)."""
        return self._active_label

    @active_label.setter
    def active_label(self, label: int) -> None:
        if int(label) not in MUSCLE_IDS:
            raise EditingError(f"the active muscle must be one of {MUSCLE_IDS}, got {label}")
        self._set("active_label", int(label))

    @property
    def brush_radius(self) -> int:
        return self._brush_radius

    @brush_radius.setter
    def brush_radius(self, radius: int) -> None:
        if not 0 <= int(radius) <= MAX_BRUSH_RADIUS:
            raise EditingError(f"brush radius must lie in 0..{MAX_BRUSH_RADIUS} voxels, got {radius}")
        self._set("brush_radius", int(radius))

    @property
    def paint_over(self) -> int | None:
        return self._paint_over

    @paint_over.setter
    def paint_over(self, value: int | None) -> None:
        if value is not None and int(value) not in (0, *MUSCLE_IDS):
            raise EditingError(f"paint over must be None, 0 (background) or a muscle 1..7, got {value}")
        self._set("paint_over", None if value is None else int(value))

    @property
    def relabel_3d(self) -> bool:
        return self._relabel_3d

    @relabel_3d.setter
    def relabel_3d(self, value: bool) -> None:
        self._set("relabel_3d", bool(value))

    @property
    def painting_label(self) -> int:
        """The value the current tool writes: 0 for the eraser, else the active muscle."""
        return 0 if self._tool == "eraser" else self._active_label

    def select(self, key: int) -> None:
        """The palette's keys: 1..7 pick that muscle (leaving the eraser for the brush), 0 the eraser."""
        if int(key) == 0:
            self.tool = "eraser"
            return
        self.active_label = key
        if self._tool == "eraser":
            self.tool = "brush"

    def _set(self, name: str, value: object) -> None:
        if getattr(self, f"_{name}") != value:
            setattr(self, f"_{name}", value)
            self.events.changed.emit(name)
