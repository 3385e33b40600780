"""``legseg demo`` as a core function: a synthetic patient, its segmentation, and the scores.

:func:`run_demo` is a progress generator. It simulates one phantom case with
:func:`legseg_core.phantom.make_case`, segments its first contrast with a model (the shipped
starter U-Net by default), and writes into the output folder:

- ``image.nii.gz``: the scan, float32 ``[z, y, x]`` on the case's grid (spacing in mm);
- ``manual.nii.gz``: the phantom's ground truth, uint8 ids 0..7, standing in for manual labels;
- ``prediction.nii.gz``: the model's labels, uint8 ids 0..7;
- ``overlap.nii.gz``: the Figure 4 overlap map of manual against predicted (classes 0..4);
- ``dice.csv`` and ``dice.md``: Dice, AHD (voxels and mm) and volumes per muscle, and the mean;
- ``image.json``: the scan's sidecar (contrast, protocol, health, diagnosis), read by the app.

No store is needed: the case never enters one. Showing the result (the app, a screenshot) is
:mod:`legseg_core.starter.show`.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from legseg_core.atomic import write_text_atomically
from legseg_core.errors import InputPathError, LegsegError
from legseg_core.evaluation import CaseScores, evaluate_labels, overlap_map
from legseg_core.io import save_image, save_labels
from legseg_core.labels import MUSCLE_BY_ID
from legseg_core.progress import Progress, ProgressWork

log = logging.getLogger(__name__)

#: The model the demo uses unless told otherwise (a shipped model's name).
DEFAULT_DEMO_MODEL = "unet-lite-starter"
OUTPUT_NAMES = ("image", "manual", "prediction", "overlap", "dice_csv", "dice_markdown", "sidecar")


@dataclass(frozen=True)
class DemoCase:
    """The synthetic patient of the demo: phantom options (see :func:`legseg_core.phantom.make_case`)."""

    seed: int = 7
    protocol: str = "A"
    contrast: str | None = None
    health: str = "patient"
    diagnosis: str | None = None
    size: str = "default"

    def make(self) -> Any:
        """The simulated :class:`~legseg_core.phantom.PhantomCase`."""
        from legseg_core.phantom import make_case

        contrasts = None if self.contrast is None else (self.contrast,)
        return make_case(seed=self.seed, protocol=self.protocol, contrasts=contrasts, health=self.health,
                         diagnosis=self.diagnosis, size=self.size, case_id=f"demo{self.seed}")


@dataclass(frozen=True)
class DemoResult:
    """What the demo wrote (``paths`` by name, see :data:`OUTPUT_NAMES`) and the per-muscle scores."""

    out_dir: Path
    paths: dict[str, Path]
    scores: CaseScores
    model_id: str
    model_path: Path
    metadata: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def mean_dice(self) -> float:
        """Dice averaged over the seven muscles."""
        return self.scores.mean("dice")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: files, model, case metadata, scores and timings (s)."""
        return {"out": str(self.out_dir), "files": {k: str(v) for k, v in self.paths.items()},
                "model": self.model_id, "model_file": str(self.model_path), "case": self.metadata,
                "mean_dice": self.mean_dice, "scores": self.scores.to_dict(), "seconds": self.seconds}


def run_demo(out_dir: str | Path, *, case: DemoCase = DemoCase(), model: str = DEFAULT_DEMO_MODEL,
             device: str | None = None) -> ProgressWork[DemoResult]:
    """Simulate, segment, score and write the demo files into ``out_dir``; yield progress."""
    import time

    from legseg_core.inference import Segmenter
    from legseg_core.model_lookup import resolve_model

    out_dir = _output_folder(out_dir)
    model_path = resolve_model(model)
    yield Progress(0, 4, f"simulating a synthetic {case.health} (seed {case.seed})")
    started = time.perf_counter()
    phantom = case.make()
    contrast = phantom.metadata["contrast"].split("+")[0]
    image, manual = phantom.images[contrast], phantom.labels
    seconds = {"simulate": time.perf_counter() - started}
    yield Progress(1, 4, f"segmenting the {contrast} scan with {model}")
    started = time.perf_counter()
    segmentation = Segmenter(model_path, device).segment(image)
    seconds["segment"] = time.perf_counter() - started
    yield Progress(2, 4, "scoring against the ground truth")
    scores = evaluate_labels(manual.data, segmentation.labels, image.spacing, case_id=phantom.metadata["case_id"])
    yield Progress(3, 4, f"writing {out_dir}")
    paths = _write_outputs(out_dir, image, manual, segmentation.labels, scores)
    paths["sidecar"] = write_sidecar(out_dir / "image.json", phantom.metadata, contrast)
    log.info("demo: mean Dice %.3f written to %s", scores.mean("dice"), out_dir)
    yield Progress(4, 4, "done", {"mean_dice": scores.mean("dice")})
    return DemoResult(out_dir, paths, scores, segmentation.model_id, model_path, _case_summary(phantom.metadata),
                      seconds)


def _output_folder(out_dir: str | Path) -> Path:
    out_dir = Path(out_dir).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise InputPathError(f"{out_dir}: exists and is not a folder; choose another --out")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputPathError(f"{out_dir}: cannot create the output folder ({error.strerror})") from error
    return out_dir


def _write_outputs(out_dir: Path, image: Any, manual: Any, prediction: Any, scores: CaseScores) -> dict[str, Path]:
    paths = {"image": out_dir / "image.nii.gz", "manual": out_dir / "manual.nii.gz",
             "prediction": out_dir / "prediction.nii.gz", "overlap": out_dir / "overlap.nii.gz",
             "dice_csv": out_dir / "dice.csv", "dice_markdown": out_dir / "dice.md"}
    save_image(image.data, image, paths["image"])
    save_labels(manual.data, image, paths["manual"])
    save_labels(prediction, image, paths["prediction"])
    save_labels(overlap_map(manual.data, prediction), image, paths["overlap"])
    write_dice_csv(scores, paths["dice_csv"])
    write_text_atomically(paths["dice_markdown"], dice_markdown(scores))
    return paths


#: What the demo's protocols are (phantom protocols A and B).
PROTOCOL_NAMES = {"A": "synthetic A: whole lower leg", "B": "synthetic B: calf slab"}


def write_sidecar(path: Path, metadata: dict[str, Any], contrast: str) -> Path:
    """The scan's JSON sidecar (``image.json``): contrast, protocol, health and diagnosis, which the app reads
    when the scan enters a store, so the worklist shows what the case is."""
    import json

    protocol = str(metadata.get("protocol", ""))
    document = {"contrast": contrast, "protocol": PROTOCOL_NAMES.get(protocol, protocol),
                "health": str(metadata.get("health") or "unknown"), "diagnosis": str(metadata.get("diagnosis") or "")}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def _case_summary(metadata: dict[str, Any]) -> dict[str, Any]:
    keys = ("case_id", "seed", "protocol", "contrast", "shape", "voxel_size_mm", "health", "diagnosis", "severity")
    return {key: metadata.get(key) for key in keys}


def dice_rows(scores: CaseScores) -> list[dict[str, Any]]:
    """One row per muscle (id, abbreviation, name, Dice, AHD in voxels and mm, volumes in ml) and a mean row."""
    rows = [{"label": m.label, "muscle": m.abbr, "name": MUSCLE_BY_ID[m.label].name, "dice": m.dice,
             "ahd_voxels": m.ahd_voxels, "ahd_mm": m.ahd_mm, "volume_manual_ml": m.volume_ref_ml,
             "volume_predicted_ml": m.volume_pred_ml} for m in scores.muscles]
    rows.append({"label": "", "muscle": "mean", "name": "mean over muscles", "dice": scores.mean("dice"),
                 "ahd_voxels": scores.mean("ahd_voxels"), "ahd_mm": scores.mean("ahd_mm"),
                 "volume_manual_ml": math.nan, "volume_predicted_ml": math.nan})
    return rows


def write_dice_csv(scores: CaseScores, path: Path) -> Path:
    """Write :func:`dice_rows` as CSV (empty cells for undefined values)."""
    rows = dice_rows(scores)
    try:
        handle = io.StringIO(newline="")
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
        write_text_atomically(path, handle.getvalue())
    except OSError as error:
        raise LegsegError(f"{path}: cannot write the Dice table ({error.strerror})") from error
    return path


def dice_markdown(scores: CaseScores) -> str:
    """The per-muscle table as Markdown: muscle, Dice, AHD (voxels), AHD (mm), volumes (ml)."""
    lines = ["| muscle | Dice | AHD (voxels) | AHD (mm) | manual (ml) | predicted (ml) |",
             "|---|---|---|---|---|---|"]
    for row in dice_rows(scores):
        lines.append(f"| {row['muscle']} | {_text(row['dice'], 3)} | {_text(row['ahd_voxels'], 2)} | "
                     f"{_text(row['ahd_mm'], 2)} | {_text(row['volume_manual_ml'], 1)} | "
                     f"{_text(row['volume_predicted_ml'], 1)} |")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return "" if not math.isfinite(value) else round(value, 6)
    return value


def _text(value: float, digits: int) -> str:
    return "-" if not math.isfinite(value) else f"{value:.{digits}f}"
