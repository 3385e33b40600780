"""``legseg bench correction``: what an expert pays to correct a scan, with and without case adaptation.

A simulated expert (:mod:`legseg_core.adapt.expert`: its action model is documented there)
corrects a model's labels with the reference, leg slice by leg slice, most wrong voxels first,
and the benchmark counts the actions and corrected leg slices needed until the whole scan's mean
Dice over the muscles reaches 0.90 and 0.95, per strategy:

* **a** -- everything by hand, from the model's labels;
* **b** -- K leg slices per leg, spread over the muscles' z extent, corrected by hand; one case
  adaptation (:func:`legseg_core.adapt.adapt_case`, as ``legseg adapt`` and the viewers run it:
  the adapted network's labels, with the muscles both neighbouring corrected slices show
  interpolated between them) re-segments the rest; the rest by hand;
* **b0** -- the same adaptation's network labels alone (``legseg adapt --no-interpolate``), from
  the same run;
* **c** -- the same K leg slices, then each muscle interpolated between them (shape-based, as the
  editor's interpolation), no adaptation; the rest by hand.

``dice`` is the whole-scan mean Dice once the strategy's K slices (and its adaptation or
interpolation) are done: the curve against K = 0, 1, 2, 3, 5, 8 for strategy b. Cases: the real
labelled calf (``real``: ``calf-qmritools/dwi_mean.nii.gz`` and its labels, both legs), synthetic
bilateral calves in two contrasts (``t1w``, ``t2w``), a synthetic patient with fatty replacement
(``patient``, Pompe disease, T1w) and a calf with random tissue intensities, gamma, blur and a strong
bias field (``random``: a contrast no protocol has). Targets (real case, starter U-Net): whole-scan mean Dice >= 0.85
with 3 corrected leg slices per leg and one adaptation; actions to reach 0.90 at most half those of
correcting by hand; one adaptation under 3 minutes on a 2-core CPU (the load average measured is
printed: the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from legseg_core.bench import BenchResult
from legseg_core.errors import LegsegError

log = logging.getLogger(__name__)

DESCRIPTION = "correction effort of a simulated expert: by hand, K slices + case adaptation, K slices + interpolation"
CASES = ("real", "t1w", "t2w", "patient", "random")
TARGETS = (0.90, 0.95)
DICE_TARGET, ACTIONS_RATIO_TARGET, ADAPT_TARGET_SECONDS = 0.85, 0.5, 180.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES),
                        help="cases to correct (default: all of them)")
    parser.add_argument("--models", nargs="+", default=["unet-lite-starter"],
                        help="starting models (names or files; default unet-lite-starter)")
    parser.add_argument("--k", type=int, nargs="+", default=[0, 1, 2, 3, 5, 8],
                        help="corrected leg slices per leg for strategies b and c (default 0 1 2 3 5 8)")
    parser.add_argument("--steps", type=int, default=None, help="optimiser steps of one adaptation (default: "
                                                                "the adaptation's own, by corrected leg slices)")
    parser.add_argument("--slices", type=int, default=25, help="slices of the synthetic cases (default 25)")
    parser.add_argument("--size", choices=("tiny", "default"), default="default",
                        help="grid of the synthetic cases (tiny: a quick check)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic cases and the adaptation")
    parser.add_argument("--data", default=None, help="real data folder holding calf-qmritools/ (default: "
                                                     "$LEGSEG_REAL_DATA's parent, else shared/data)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--rows", default=None, help="also append each row to this JSON-lines file as it is done")


def quick_arguments() -> argparse.Namespace:
    """A tiny synthetic case, K = 0 and 2, three adaptation steps: that every part runs, not the figures."""
    return argparse.Namespace(cases=["t1w"], models=["unet-lite-starter"], k=[0, 2], steps=3, slices=20,
                              size="tiny", seed=0, data=None, device="cpu", threads=2, rows=None)


@dataclass
class BenchCase:
    """A scan and its reference labels ``[z, y, x]`` (ids 0..7)."""

    name: str
    volume: Any
    reference: np.ndarray


def load_cases(args: argparse.Namespace) -> list[BenchCase]:
    """The cases the arguments name."""
    return [_real_case(args.data) if name == "real" else _synthetic_case(name, args) for name in args.cases]


def _real_case(data: str | None) -> BenchCase:
    from legseg_core.starter.realcheck.scans import SCAN_BY_KEY, check_data, load_scan

    scan = SCAN_BY_KEY["qmritools-dwi"]
    loaded = load_scan(scan, check_data(data, (scan,)))
    if loaded.reference is None:
        raise LegsegError(f"{scan.key}: the labelled real case has no reference labels in {data or 'shared/data'}")
    return BenchCase("real", loaded.volume, loaded.reference)


def _synthetic_case(name: str, args: argparse.Namespace) -> BenchCase:
    from legseg_core.phantom import make_case

    contrast = "t1w" if name in ("patient", "random") else name
    presets: dict[str, dict[str, Any]] = {"patient": {"health": "patient", "diagnosis": "pompe"},
                                          "random": {"randomize_intensity": True}}
    options = presets.get(name, {})
    case = make_case(args.seed, protocol="B", slices=args.slices, contrasts=contrast, size=args.size, **options)
    return BenchCase(name, case.images[contrast], case.labels.data)


def run(args: argparse.Namespace) -> BenchResult:
    import torch

    torch.set_num_threads(int(args.threads))
    result = BenchResult("correction")
    load_before = os.getloadavg()[0]
    seconds: dict[str, list[float]] = {}
    for case in load_cases(args):
        for model in args.models:
            rows = correct_case(case, model, args, seconds.setdefault(f"{case.name} {model}", []))
            for row in rows:
                result.rows.append(row)
                _append_row(args.rows, row)
    _targets(result, seconds)
    result.notes.append(f"load average (1 min) {load_before:.1f} before and {os.getloadavg()[0]:.1f} after, on "
                        f"{os.cpu_count()} CPU(s), {args.threads} thread(s), device {args.device}")
    result.notes.append("slices: corrected leg slices (one leg of one axial slice); actions: see "
                        "legseg_core/adapt/expert.py; dice: whole-scan mean Dice after the strategy's K slices")
    return result


def correct_case(case: BenchCase, model: str, args: argparse.Namespace, seconds: list[float]) -> list[dict]:
    """Rows of strategies a, b and c for one case and starting model."""
    from legseg_core.adapt import LegColumns
    from legseg_core.adapt.expert import SliceTable, effort_to_reach
    from legseg_core.inference import Segmenter

    prediction = Segmenter(model, args.device).segment(case.volume).labels
    legs = LegColumns.of(case.volume)
    start = SliceTable.of(prediction, case.reference, legs)
    nothing = np.zeros(len(start.leg_slices), dtype=bool)
    base = {"case": case.name, "model": Path(model).stem}
    rows = [_row(base, "a", 0, start.mean_dice(nothing), effort_to_reach(start, TARGETS))]
    log.info("%s %s: by hand %s", case.name, model, rows[-1])
    for per_leg in args.k:
        rows += _strategies(case, model, prediction, legs, start, per_leg, args, seconds, base)
    return rows


def _strategies(case: BenchCase, model: str, prediction: np.ndarray, legs: Any, start: Any, per_leg: int,
                args: argparse.Namespace, seconds: list[float], base: dict) -> list[dict]:
    from legseg_core.adapt.expert import SliceTable, corrected_labels, effort_to_reach, interpolate_between, \
        spread_slices

    chosen = spread_slices(case.reference, legs, per_leg)
    if not chosen:
        same = _row(base, "b", 0, start.mean_dice(np.zeros(len(start.leg_slices), dtype=bool)),
                    effort_to_reach(start, TARGETS))
        return [same, {**same, "strategy": "b0"}, {**same, "strategy": "c"}]
    spent = int(start.actions[start.index(chosen)].sum())
    corrected = corrected_labels(prediction, case.reference, chosen, legs)
    adapted, adapt_seconds = _adapt(case, corrected, chosen, model, args, legs)
    seconds.append(adapt_seconds["total"])
    rows = []
    timing = {"adapt_s": round(adapt_seconds["total"], 1), "adapt_cpu_s": round(adapt_seconds["cpu"], 1),
              "steps": adapted.steps}
    for strategy, labels, extra in (("b", adapted.labels, timing), ("b0", adapted.network_labels, {}),
                                    ("c", interpolate_between(corrected, chosen, legs, case.volume.spacing[1:]), {})):
        table = SliceTable.of(labels, case.reference, legs)
        done = table.index(chosen)
        rows.append(_row(base, strategy, per_leg, table.mean_dice(done),
                         effort_to_reach(table, TARGETS, done, spent), spent=spent, **extra))
        log.info("%s %s: %s", case.name, model, rows[-1])
    return rows


def _adapt(case: BenchCase, corrected: np.ndarray, chosen: list, model: str, args: argparse.Namespace,
           legs: Any) -> tuple[Any, dict[str, float]]:
    from legseg_core.adapt import AdaptSettings, adapt_case
    from legseg_core.progress import run_quietly

    options = {"steps": args.steps} if args.steps else {}
    settings = AdaptSettings(seed=args.seed, device=args.device, **options)
    cpu_started = time.process_time()
    result = run_quietly(adapt_case(case.volume, corrected, chosen, model, settings, legs=legs))
    log.info("adaptation: %d steps, %.1f s wall, %.1f s CPU (all threads)", result.steps, result.seconds["total"],
             time.process_time() - cpu_started)
    result.seconds["cpu"] = time.process_time() - cpu_started
    mask = legs.mask(chosen, corrected.shape)
    for labels in (result.labels, result.network_labels):
        if not np.array_equal(labels[mask], corrected[mask]):
            raise RuntimeError("case adaptation changed a corrected voxel")  # the contract the benchmark relies on
    return result, result.seconds


def _row(base: dict, strategy: str, per_leg: int, dice: float, efforts: list, *, spent: int = 0,
         **extra: Any) -> dict[str, Any]:
    row = {**base, "strategy": strategy, "k": per_leg, "dice": round(dice, 4), "k_actions": spent}
    for effort in efforts:
        label = f"{effort.target:.2f}"
        row[f"actions@{label}"] = effort.actions
        row[f"slices@{label}"] = effort.slices
    return {**row, **extra}


def _targets(result: BenchResult, seconds: dict[str, list[float]]) -> None:
    real = [r for r in result.rows if r["case"] == "real" and r["model"] == "unet-lite-starter"]
    at_three = next((r for r in real if r["strategy"] == "b" and r["k"] == 3), None)
    by_hand = next((r for r in real if r["strategy"] == "a"), None)
    if at_three is not None:
        result.target("real case, U-Net, 3 leg slices per leg + adaptation: whole-scan mean Dice", at_three["dice"],
                      DICE_TARGET, unit="", below=False)
    if at_three is not None and by_hand and by_hand["actions@0.90"] and at_three["actions@0.90"] is not None:
        result.target("real case, U-Net: actions to 0.90 (b, K=3) / actions by hand",
                      at_three["actions@0.90"] / by_hand["actions@0.90"], ACTIONS_RATIO_TARGET + 1e-9, unit="x")
    real_seconds = [s for key, values in seconds.items() if key.startswith("real ") for s in values]
    if real_seconds:
        result.target("one adaptation, real case (25 slices, both legs), median", statistics.median(real_seconds),
                      ADAPT_TARGET_SECONDS)


def _append_row(path: str | None, row: dict[str, Any]) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
