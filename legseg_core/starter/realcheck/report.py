"""Running the check: each model segments each real scan; the measures, the pictures and the reports.

:class:`RealCheck` holds one model on a device; :meth:`RealCheck.run_steps` is the long work as a
progress generator (one event per batch of patches, relayed from the Segmenter, and one per
stage of each scan) that returns a :class:`ModelReport` after writing ``report.json``,
``report.md`` and one ``<scan key>.png`` per scan into the output folder.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from legseg_core.atomic import write_text_atomically
from legseg_core.errors import InputPathError
from legseg_core.progress import CancelToken, Progress, ProgressWork, relay
from legseg_core.starter.realcase import leg_split_column
from legseg_core.starter.realcheck.measures import (MISSING_BELOW_ML, RATIO_RANGE, LegAgreement, LegSplit, VolumeCheck,
                                                    VolumeProfile, check_volumes, constant_split, flagged_ratios,
                                                    leg_agreement, leg_volumes, split_from_plan, swap_flags,
                                                    volume_profile, where_flagged_muscles_differ, widest_slice)
from legseg_core.starter.realcheck.overlays import LevelChoice, SliceLevel, choose_levels, in_plane_box, write_overlay
from legseg_core.starter.realcheck.poses import PoseAgreement, pose_agreement, pose_angles
from legseg_core.starter.realcheck.scans import LoadedScan, RealScan, load_scan

SCHEMA_VERSION = 1
#: At most this many slices are added to a scan's picture, one for each band along the legs where a flagged
#: left/right ratio differs most.
MAX_FLAG_SLICES = 2


@dataclass(frozen=True)
class ScanReport:
    """What the check found on one scan with one model."""

    scan: RealScan
    notes: tuple[str, ...]
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    split: LegSplit
    volumes: VolumeCheck
    agreement: dict[str, LegAgreement] | None
    levels: LevelChoice
    overlay: Path
    uncertainty_score: float
    seconds: float
    profile: VolumeProfile
    poses: PoseAgreement | None = None

    @property
    def differences(self) -> list[str]:
        """Where along the legs each flagged muscle's volumes differ most (one line per flagged ratio; none for
        one leg, which has no ratios)."""
        return where_flagged_muscles_differ(self.volumes, self.profile)

    @property
    def flags(self) -> tuple[str, ...]:
        """Every flag: volume ratios, missing muscles and, for the labelled case, GM/GL swaps."""
        return self.volumes.flags + tuple(swap_flags(self.agreement or {}))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (NaN as null, numbers rounded)."""
        columns = np.asarray(self.split.columns)
        item = {"key": self.scan.key, "file": f"{self.scan.folder}/{self.scan.file}", "title": self.scan.title,
                "notes": list(self.notes), "shape_zyx": list(self.shape),
                "spacing_mm": [round(s, 4) for s in self.spacing],
                "legs": list(self.split.sides),
                "leg_split": {"method": self.split.method, "x_min": int(columns.min()), "x_max": int(columns.max())},
                "volumes_ml": _rounded(self.volumes.volumes_ml, 2),
                "left_right_ratio": _rounded(self.volumes.ratios, 3),
                "volume_profile_ml": self.profile.to_dict(),
                "flags": list(self.flags), "where_flagged_ratios_differ": self.differences,
                "uncertainty_score": round(self.uncertainty_score, 4),
                "coverage": self.levels.coverage, "overlay": self.overlay.name,
                "slices": [{"level": level.name, "index": level.index, "z_mm": round(level.height_mm, 1)}
                           for level in self.levels.levels],
                "seconds": round(self.seconds, 2)}
        if self.agreement is not None:
            item["dice"] = {leg: {**_rounded(a.dice, 3), "mean": _rounded(a.mean_dice, 3)}
                            for leg, a in self.agreement.items()}
            item["gm_gl_swap"] = {leg: _rounded(a.swap.to_dict(), 3) for leg, a in self.agreement.items()}
        if self.poses is not None:
            item["dice_over_poses"] = self.poses.to_dict()
        return item


@dataclass(frozen=True)
class ModelReport:
    """The check of one model over the real scans, and where its files are."""

    name: str
    model_file: Path
    card: dict[str, str]
    device: str
    precision: str
    data: Path
    out: Path
    scans: tuple[ScanReport, ...]

    def to_dict(self) -> dict[str, Any]:
        """The content of ``report.json``."""
        return {"schema_version": SCHEMA_VERSION,
                "model": {"name": self.name, "file": str(self.model_file), **self.card},
                "device": self.device, "precision": self.precision, "data": str(self.data), "out": str(self.out),
                "ratio_range": list(RATIO_RANGE), "missing_below_ml": MISSING_BELOW_ML,
                "scans": [scan.to_dict() for scan in self.scans]}


class RealCheck:
    """One model (a shipped name, a model file, or a store model) on a device, ready to check the real scans."""

    def __init__(self, model: str | Path, *, device: str | None = "auto", store: str | Path | None = None) -> None:
        from legseg_core.inference import Segmenter
        from legseg_core.model_lookup import resolve_model

        self.model_file = resolve_model(model, store=store)
        self.name = self.model_file.stem
        self.segmenter = Segmenter(self.model_file, device)

    def default_out(self) -> Path:
        """``realcheck/<model name>/`` beside the model file (its card's folder)."""
        return self.model_file.parent / "realcheck" / self.name

    def run_steps(self, scans: tuple[RealScan, ...], data: Path, out: Path | None = None,
                  cancel: CancelToken | None = None, *, poses: int = 1) -> ProgressWork[ModelReport]:
        """Segment and check every scan, write the PNGs and the reports; returns the ModelReport. With ``poses``
        above 1 the labelled case is also scored in that many in-plane poses
        (:mod:`legseg_core.starter.realcheck.poses`)."""
        angles = pose_angles(poses)
        out = Path(out) if out is not None else self.default_out()
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputPathError(f"{out}: cannot create the output folder ({error.strerror})") from error
        results = []
        for index, scan in enumerate(scans):
            work = self._scan_steps(scan, data, out, cancel, angles)
            results.append((yield from _relay(work, index, len(scans), f"{self.name}: {scan.key}")))
        card = self.segmenter.card
        report = ModelReport(self.name, self.model_file, {"model_id": card.model_id, "architecture": card.architecture,
                                                          "preset": card.preset},
                             str(self.segmenter.device), self.segmenter.precision, data, out, tuple(results))
        write_reports(report)
        return report

    def _scan_steps(self, scan: RealScan, data: Path, out: Path, cancel: CancelToken | None,
                    angles: tuple[float, ...] = (0.0,)) -> ProgressWork[ScanReport]:
        """One scan: read, segment (relayed progress), split the legs, measure, (on the labelled case, in
        more poses,) draw."""
        from legseg_core.preprocess import plan_patches
        from legseg_core.preprocess.mask import body_mask

        start = time.perf_counter()
        yield Progress(0, 1, "reading")
        loaded = load_scan(scan, data)
        volume = loaded.volume
        if loaded.reference is None:
            angles = (0.0,)
        share = 1.0 / (1 + sum(angle != 0.0 for angle in angles))  # of the progress: one segmentation per pose
        result = yield from _scaled(self.segmenter.segment_steps(volume, cancel=cancel), 0.0, share)
        split = _reference_split(loaded) if loaded.reference is not None else split_from_plan(
            plan_patches(volume, self.segmenter.config))
        volumes = check_volumes(leg_volumes(result.labels, split, volume.spacing))
        agreement = None if loaded.reference is None else leg_agreement(loaded.reference, result.labels, split,
                                                                         volume.spacing)
        body = body_mask(volume.data, volume.spacing, self.segmenter.config, volume.name)
        poses = None
        if loaded.reference is not None and angles != (0.0,):
            poses = yield from _scaled(pose_agreement(self.segmenter, volume, loaded.reference, split, body, angles,
                                                      result.labels, cancel), share, 1.0 - share)
        profile = volume_profile(result.labels, split, volume.spacing)
        levels = choose_levels(body.mask.any(axis=(1, 2)), volume.spacing[0])
        levels = LevelChoice(levels.levels + flag_slices(result.labels, split, volumes, profile, levels.levels),
                             levels.coverage)
        yield Progress(1, 1, "drawing")
        box = in_plane_box(body.mask, body.block, margin=10, shape=volume.shape[1:])
        overlay = write_overlay(volume.data, result.labels, levels.levels, out / f"{scan.key}.png",
                                spacing=volume.spacing, split_columns=split.columns, box=box,
                                title=f"{self.name} on {scan.key} ({scan.folder}/{scan.file})")
        return ScanReport(scan, loaded.notes, volume.shape, volume.spacing, split, volumes, agreement, levels, overlay,
                          result.uncertainty_score, time.perf_counter() - start, profile, poses)


def run_checks(checks: list[RealCheck], scans: tuple[RealScan, ...], data: Path, out: Path | None = None,
               cancel: CancelToken | None = None, *, poses: int = 1) -> ProgressWork[list[ModelReport]]:
    """Every model's check in turn (``out/<model name>/`` when ``out`` is given, else each default folder)."""
    pose_angles(poses)  # a bad count fails before any model runs
    reports = []
    for index, check in enumerate(checks):
        folder = None if out is None else Path(out) / check.name
        work = check.run_steps(scans, data, folder, cancel, poses=poses)
        reports.append((yield from _relay(work, index, len(checks), "")))
    return reports


def _reference_split(loaded: LoadedScan) -> LegSplit:
    """The labelled case's legs part halfway between the reference's right- and left-leg muscle centroids."""
    column = leg_split_column(loaded.reference, loaded.reference_right)
    return constant_split(column, loaded.volume.shape[0], f"reference muscle centroids, x = {column}")


def flag_slices(labels: np.ndarray, split: LegSplit, volumes: VolumeCheck, profile: VolumeProfile,
                shown: tuple[SliceLevel, ...]) -> tuple[SliceLevel, ...]:
    """Slices to show beside ``shown``: for each band along the legs where a flagged left/right ratio differs
    most (at most :data:`MAX_FLAG_SLICES`, the largest differences first), its slice where the legs differ
    most, named after the muscles."""
    bands: dict[int, list[tuple[float, str]]] = {}
    for abbr in flagged_ratios(volumes):
        band, right, left = profile.where_differs(abbr)
        bands.setdefault(band, []).append((abs(left - right), abbr))
    order = sorted(bands.items(), key=lambda item: -max(d for d, _ in item[1]))[:MAX_FLAG_SLICES]
    extra: list[SliceLevel] = []
    for band, differences in order:
        muscles = [abbr for _, abbr in sorted(differences, reverse=True)]
        index = widest_slice(labels, split, muscles[0], slice(profile.starts[band], profile.stops[band]))
        if any(level.index == index for level in (*shown, *extra)):
            continue
        extra.append(SliceLevel(f"{', '.join(muscles)} left/right differ most", index, index * profile.slice_mm))
    return tuple(extra)


def _scaled(work: ProgressWork[Any], start: float, width: float) -> ProgressWork[Any]:
    """Pass on ``work``'s events as the part ``start .. start + width`` of one step; return its result."""
    return relay(work, lambda event: Progress(start + width * event.fraction, 1, event.message, event.details))


def _relay(work: ProgressWork[Any], index: int, count: int, prefix: str) -> ProgressWork[Any]:
    """Pass on ``work``'s events as step ``index`` of ``count``, its messages prefixed; return its result."""
    while True:
        try:
            event = next(work)
        except StopIteration as stop:
            return stop.value
        message = f"{prefix}: {event.message}" if prefix and event.message else (prefix or event.message)
        yield Progress(index + event.fraction, count, message, event.details)


def write_reports(report: ModelReport) -> None:
    """``report.json`` and ``report.md`` in the report's folder."""
    from legseg_core.starter.realcheck.tables import markdown_report

    try:
        write_text_atomically(report.out / "report.json", json.dumps(report.to_dict(), indent=2) + "\n")
        write_text_atomically(report.out / "report.md", markdown_report(report))
    except OSError as error:
        raise InputPathError(f"{report.out}: cannot write the report ({error.strerror})") from error


def _rounded(value: Any, digits: int) -> Any:
    """Floats rounded, NaN as None, through dicts."""
    if isinstance(value, dict):
        return {key: _rounded(item, digits) for key, item in value.items()}
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, digits)
    return value
