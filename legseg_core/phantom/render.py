"""PNG renderings of axial slices with the label overlay (matplotlib, Agg; no display needed).

``render_slice_png`` draws one axial slice ``data[k]`` in radiological convention (anterior up,
the patient's right on the left), windowed to the 1st..99.5th percentile, with the muscle
colours of :mod:`legseg_core.labels` blended on top. ``render_case_png`` puts one panel per
contrast of a :class:`~legseg_core.phantom.PhantomCase` side by side, plus the labels alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from legseg_core.atomic import write_atomically
from legseg_core.errors import ImageShapeError
from legseg_core.io import Volume
from legseg_core.labels import color_table_uint8

if TYPE_CHECKING:  # pragma: no cover
    from legseg_core.phantom.case import PhantomCase


def _slice_index(shape: tuple[int, ...], slice_index: int | None) -> int:
    index = shape[0] // 2 if slice_index is None else int(slice_index)
    if not 0 <= index < shape[0]:
        raise ImageShapeError(f"slice {slice_index} is outside 0..{shape[0] - 1}")
    return index


def overlay_rgb(image: np.ndarray, labels: np.ndarray | None, alpha: float = 0.45) -> np.ndarray:
    """An RGB float image (``[y, x, 3]`` in 0..1) of a 2D slice with the label colours blended in."""
    low, high = np.percentile(image, [1.0, 99.5])
    grey = np.clip((image - low) / max(float(high - low), 1e-6), 0, 1)
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    if labels is not None:
        table = color_table_uint8().astype(float) / 255.0
        ids = np.clip(labels.astype(int), 0, table.shape[0] - 1)
        weight = (table[ids, 3] * alpha)[..., None]
        rgb = rgb * (1 - weight) + table[ids, :3] * weight
    return rgb


def render_slice_png(image: Volume | np.ndarray, labels: Volume | np.ndarray | None, path: str | Path, *,
                     slice_index: int | None = None, title: str = "", alpha: float = 0.45,
                     pixel_aspect: float = 1.0) -> Path:
    """Write axial slice ``slice_index`` (default: the middle) of ``[z, y, x]`` data with labels to a PNG."""
    data = image.data if isinstance(image, Volume) else np.asarray(image)
    label_data = labels.data if isinstance(labels, Volume) else labels
    if isinstance(image, Volume):
        pixel_aspect = image.spacing[1] / image.spacing[2]
    index = _slice_index(data.shape, slice_index)
    panel = overlay_rgb(data[index], None if label_data is None else label_data[index], alpha)
    return _save_panels([(title or f"slice {index}", panel)], path, pixel_aspect)


def render_case_png(case: "PhantomCase", path: str | Path, *, slice_index: int | None = None,
                    alpha: float = 0.45) -> Path:
    """Write one PNG with a panel per contrast (labels blended in) and one of the labels alone."""
    labels = case.labels.data
    index = _slice_index(labels.shape, slice_index)
    panels = [(name, overlay_rgb(volume.data[index], labels[index], alpha)) for name, volume in case.images.items()]
    first = next(iter(case.images.values()))
    panels.append(("labels", overlay_rgb(first.data[index], labels[index], 1.0)))
    return _save_panels(panels, path, case.labels.spacing[1] / case.labels.spacing[2],
                        suptitle=f"{case.metadata.get('case_id', '')}  slice {index}")


def _save_panels(panels: list[tuple[str, np.ndarray]], path: str | Path, pixel_aspect: float,
                 suptitle: str = "") -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height, width = panels[0][1].shape[:2]
    panel_width = 4.5
    panel_height = panel_width * height * pixel_aspect / width + 0.4
    figure = Figure(figsize=(panel_width * len(panels), panel_height), dpi=100)
    FigureCanvasAgg(figure)
    for number, (title, rgb) in enumerate(panels, 1):
        axes = figure.add_subplot(1, len(panels), number)
        axes.imshow(rgb, aspect=pixel_aspect, interpolation="nearest")
        axes.set_title(title, fontsize=9)
        axes.set_axis_off()
    if suptitle:
        figure.suptitle(suptitle, fontsize=9)
    figure.tight_layout()
    path = Path(path)
    write_atomically(path, lambda handle: figure.savefig(handle, format="png"))
    return path
