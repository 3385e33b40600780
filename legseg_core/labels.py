"""The seven lower-leg muscles and the overlap classes: the one source of truth.

Label ids follow the paper's numbering (section 2.2); colours follow its Figure 3 caption.
The GUI, the napari plugin and the colour-table exports all read from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from legseg_core.atomic import write_text_atomically
from legseg_core.errors import ImageFormatError

if TYPE_CHECKING:
    import numpy

BACKGROUND = 0
NUM_CLASSES = 8  # background plus seven muscles


@dataclass(frozen=True)
class LabelClass:
    """One label value with its short name, full name and display colour (RGB, 0..255)."""

    id: int
    abbr: str
    name: str
    color: tuple[int, int, int]

    @property
    def color_float(self) -> tuple[float, float, float, float]:
        """RGBA in 0..1, as napari and matplotlib take it."""
        return (*(c / 255.0 for c in self.color), 1.0)


MUSCLES: tuple[LabelClass, ...] = (
    LabelClass(1, "GL", "gastrocnemius lateralis", (150, 50, 190)),  # purple
    LabelClass(2, "GM", "gastrocnemius medialis", (250, 220, 20)),  # yellow
    LabelClass(3, "SOL", "soleus", (255, 140, 20)),  # orange
    LabelClass(4, "TA", "tibialis anterior", (110, 230, 180)),  # mint
    LabelClass(5, "PER", "peroneus group", (130, 200, 250)),  # light blue
    LabelClass(6, "EDL", "extensor digitorum longus + extensor hallucis longus", (40, 160, 50)),  # green
    LabelClass(7, "TP", "tibialis posterior", (30, 70, 220)),  # blue
)

MUSCLE_IDS: tuple[int, ...] = tuple(m.id for m in MUSCLES)
MUSCLE_ABBRS: tuple[str, ...] = tuple(m.abbr for m in MUSCLES)
MUSCLE_BY_ID: dict[int, LabelClass] = {m.id: m for m in MUSCLES}
MUSCLE_BY_ABBR: dict[str, LabelClass] = {m.abbr: m for m in MUSCLES}


# Figure 4: manual (reference) against predicted, per voxel. The colours keep the figure's green for
# agreement and red for missed muscle, in shades chosen to stay apart from the seven muscle colours
# (so the map reads right beside or over muscle outlines) and from bright fat and dark background:
# CIEDE2000 at least 25 from every muscle colour, from white-ish and near-black grey, and from each
# other (tests/core/test_overlap_colours.py computes them).
OVERLAP_BACKGROUND = 0
OVERLAP_AGREE = 1
OVERLAP_PREDICTED_ONLY = 2
OVERLAP_DIFFERENT_MUSCLE = 3
OVERLAP_MANUAL_ONLY = 4

OVERLAP_CLASSES: tuple[LabelClass, ...] = (
    LabelClass(OVERLAP_AGREE, "agree", "same muscle drawn and predicted", (0, 80, 0)),  # dark green
    LabelClass(OVERLAP_PREDICTED_ONLY, "predicted only", "predicted as a muscle, not drawn", (255, 120, 170)),  # pink
    LabelClass(OVERLAP_DIFFERENT_MUSCLE, "different muscle", "drawn and predicted as different muscles", (0, 115, 125)),  # teal
    LabelClass(OVERLAP_MANUAL_ONLY, "manual only", "drawn manually, not predicted", (185, 0, 15)),  # red
)
OVERLAP_BY_ID: dict[int, LabelClass] = {c.id: c for c in OVERLAP_CLASSES}


def muscle_name(label_id: int) -> str:
    """Short display text for a label value: 'GL (gastrocnemius lateralis)', or 'background'."""
    muscle = MUSCLE_BY_ID.get(int(label_id))
    if muscle is None:
        return "background" if int(label_id) == BACKGROUND else f"unknown label {label_id}"
    return f"{muscle.abbr} ({muscle.name})"


def color_lut(classes: tuple[LabelClass, ...] = MUSCLES) -> dict[int, tuple[float, float, float, float]]:
    """Map label value to RGBA in 0..1, background transparent (napari's colormap dict)."""
    lut = {BACKGROUND: (0.0, 0.0, 0.0, 0.0)}
    lut.update({c.id: c.color_float for c in classes})
    return lut


def color_table_uint8(classes: tuple[LabelClass, ...] = MUSCLES) -> numpy.ndarray:
    """A (max_id + 1, 4) uint8 RGBA table indexed by label value, background transparent."""
    import numpy as np

    table = np.zeros((max(c.id for c in classes) + 1, 4), dtype=np.uint8)
    for c in classes:
        table[c.id] = (*c.color, 255)
    return table


# ---- colour-table export -------------------------------------------------------------------

def write_itksnap_label_file(path: str | Path) -> Path:
    """Write an ITK-SNAP label description file for the seven muscles and return its path."""
    path = Path(path)
    lines = [
        "################################################",
        "# ITK-SnAP Label Description File (LegSeg muscles)",
        "# Columns: IDX -R- -G- -B- -A-- VIS MSH LABEL",
        "################################################",
        '    0     0    0    0        0  0  0    "Clear Label"',
    ]
    for m in MUSCLES:
        r, g, b = m.color
        lines.append(f'{m.id:5d} {r:5d} {g:4d} {b:4d}        1  1  1    "{m.abbr} {m.name}"')
    write_text_atomically(path, "\n".join(lines) + "\n")
    return path


def read_itksnap_label_file(path: str | Path) -> dict[int, tuple[str, tuple[int, int, int]]]:
    """Read an ITK-SNAP label description file: label value -> (label text, RGB)."""
    pattern = re.compile(r'^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+(\d)\s+(\d)\s+"(.*)"\s*$')
    table: dict[int, tuple[str, tuple[int, int, int]]] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = pattern.match(line)
        if match is None:
            raise ImageFormatError(f"{path}: line {number} is not an ITK-SNAP label line: {line!r}")
        idx, r, g, b = (int(match.group(i)) for i in range(1, 5))
        table[idx] = (match.group(8), (r, g, b))
    return table


def write_slicer_color_table(path: str | Path) -> Path:
    """Write a 3D Slicer colour table (.ctbl/.txt: 'id name R G B A' per line)."""
    path = Path(path)
    lines = ["# LegSeg muscle colour table for 3D Slicer", f"# {len(MUSCLES) + 1} values", "0 background 0 0 0 0"]
    lines += [f"{m.id} {m.abbr} {m.color[0]} {m.color[1]} {m.color[2]} 255" for m in MUSCLES]
    write_text_atomically(path, "\n".join(lines) + "\n")
    return path


def read_slicer_color_table(path: str | Path) -> dict[int, tuple[str, tuple[int, int, int, int]]]:
    """Read a 3D Slicer colour table: label value -> (name, RGBA)."""
    table: dict[int, tuple[str, tuple[int, int, int, int]]] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 6:
            raise ImageFormatError(f"{path}: line {number} is not 'id name R G B A': {line!r}")
        table[int(fields[0])] = (fields[1], tuple(int(v) for v in fields[2:]))
    return table
