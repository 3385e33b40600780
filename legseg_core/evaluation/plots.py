"""Pictures of an evaluation (matplotlib, headless Agg backend): Dice box plots and the Figure 4 overlay.

Slices are taken from ``[z, y, x]`` arrays as ``data[k]`` and shown in radiological convention
(anterior up, patient's right on the left), which the canonical axes give without flips.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from legseg_core.atomic import write_atomically
from legseg_core.errors import ImageShapeError, InputPathError
from legseg_core.evaluation.metrics import CaseScores
from legseg_core.labels import MUSCLE_IDS, MUSCLES, OVERLAP_CLASSES

#: Overlay opacity of the overlap colours over the image.
OVERLAY_ALPHA = 0.55


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _check_folder(path: Path) -> Path:
    if not path.parent.is_dir():
        raise InputPathError(f"{path}: the folder {path.parent} does not exist")
    return path


def dice_boxplot(models: Mapping[str, Sequence[CaseScores]], path: str | Path, *, metric: str = "dice",
                 title: str | None = None) -> Path:
    """Per-muscle box plots of a metric over cases, one box per model side by side; write a PNG."""
    plt = _pyplot()
    path = _check_folder(Path(path))
    names = list(models)
    width = 0.8 / max(1, len(names))
    figure, axes = plt.subplots(figsize=(max(6.0, 1.2 * len(MUSCLE_IDS) * max(1, len(names)) ** 0.5), 4.0), dpi=120)
    colours = plt.get_cmap("tab10")
    for index, name in enumerate(names):
        data = [_finite([getattr(case.muscle(label), metric) for case in models[name]]) for label in MUSCLE_IDS]
        positions = np.arange(len(MUSCLE_IDS)) + (index - (len(names) - 1) / 2) * width
        boxes = axes.boxplot(data, positions=positions, widths=width * 0.85, patch_artist=True, showfliers=True,
                               medianprops={"color": "black"})
        for box in boxes["boxes"]:
            box.set(facecolor=colours(index % 10), alpha=0.7)
        axes.plot([], [], color=colours(index % 10), linewidth=8, alpha=0.7, label=name)
    axes.set_xticks(np.arange(len(MUSCLE_IDS)), [m.abbr for m in MUSCLES])
    axes.set_ylabel("Dice" if metric == "dice" else metric)
    if metric == "dice":
        axes.set_ylim(0.0, 1.02)
    axes.set_title(title or f"{'Dice' if metric == 'dice' else metric} per muscle")
    axes.grid(axis="y", alpha=0.3)
    if len(names) > 1:
        axes.legend(loc="lower left", fontsize="small")
    figure.tight_layout()
    try:
        write_atomically(path, lambda handle: figure.savefig(handle, format="png"))
    finally:
        plt.close(figure)
    return path


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if np.isfinite(v)]


def representative_slice(reference: np.ndarray) -> int:
    """The axial slice index ``k`` with the most reference muscle voxels (the middle one if none)."""
    areas = (np.asarray(reference) > 0).reshape(reference.shape[0], -1).sum(axis=1)
    return int(np.argmax(areas)) if areas.any() else reference.shape[0] // 2


def overlap_rgba(overlap_slice: np.ndarray, alpha: float = OVERLAY_ALPHA) -> np.ndarray:
    """A 2D overlap map ``[y, x]`` as RGBA floats ``[y, x, 4]`` in Figure 4 colours, background clear."""
    table = np.zeros((5, 4), dtype=float)
    for overlap_class in OVERLAP_CLASSES:
        table[overlap_class.id] = (*(c / 255.0 for c in overlap_class.color), alpha)
    return table[np.asarray(overlap_slice, dtype=np.intp)]


def crop_box(overlap: np.ndarray, margin: int = 8) -> tuple[slice, slice]:
    """The in-plane ``(y, x)`` box of every labelled voxel of the volume, grown by ``margin`` voxels."""
    found = np.nonzero(np.asarray(overlap).any(axis=0))
    if found[0].size == 0:
        return slice(None), slice(None)
    return tuple(slice(max(0, int(f.min()) - margin), min(n, int(f.max()) + 1 + margin))
                 for f, n in zip(found, overlap.shape[1:]))  # type: ignore[return-value]


def _overlap_legend(plt, axes) -> None:
    """The four overlap classes with their Figure 4 colours, under the picture."""
    handles = [plt.Rectangle((0, 0), 1, 1, color=[c / 255.0 for c in oc.color]) for oc in OVERLAP_CLASSES]
    axes.legend(handles, [oc.name for oc in OVERLAP_CLASSES], loc="upper center", bbox_to_anchor=(0.5, -0.01),
                ncol=2, fontsize="small", frameon=False)


def overlay_png(overlap: np.ndarray, path: str | Path, *, image: np.ndarray | None = None,
                slice_index: int | None = None, spacing: tuple[float, float, float] = (1.0, 1.0, 1.0), title: str = "", crop: bool = True) -> Path:
    """Figure 4: one axial slice of the image in grey with the overlap classes in colour; write a PNG.

    ``overlap`` and ``image`` are ``[z, y, x]``; without an image the background is black.
    ``slice_index`` defaults to the slice with the most overlap-map foreground; ``crop`` shows
    only the in-plane box of the labelled voxels (with a margin) instead of the whole field of view.
    """
    plt = _pyplot()
    path = _check_folder(Path(path))
    if image is not None and np.shape(image) != np.shape(overlap):
        raise ImageShapeError(f"image of shape {np.shape(image)} does not fit the overlap map {np.shape(overlap)}")
    k = representative_slice(overlap) if slice_index is None else int(slice_index)
    if not 0 <= k < overlap.shape[0]:
        raise ImageShapeError(f"slice {k} is outside the volume's {overlap.shape[0]} axial slices")
    box = crop_box(overlap) if crop else (slice(None), slice(None))
    shown = overlap[k][box]
    aspect = spacing[1] / spacing[2]
    figure, axes = plt.subplots(figsize=(6.0, 6.0 * aspect * shown.shape[0] / shown.shape[1] + 0.8), dpi=120)
    background = np.zeros(shown.shape) if image is None else np.asarray(image[k], dtype=float)[box]
    low, high = np.percentile(background, (1, 99.5)) if background.any() else (0.0, 1.0)
    axes.imshow(background, cmap="gray", vmin=low, vmax=max(high, low + 1e-6), aspect=aspect, interpolation="nearest")
    axes.imshow(overlap_rgba(shown), aspect=aspect, interpolation="nearest")
    _overlap_legend(plt, axes)
    axes.set_title(title or f"manual vs predicted, slice {k}")
    axes.set_axis_off()
    figure.tight_layout()
    try:
        write_atomically(path, lambda handle: figure.savefig(handle, format="png"))
    finally:
        plt.close(figure)
    return path
