"""MONAI's ``sliding_window_inference`` beside LegSeg's pipeline, on the same network and scan.

Both start from the same canonical scan and end with labels on its grid. LegSeg runs its
Segmenter. MONAI gets the same legs: the same body mask and patch plan, each leg's box over the
whole scan length (the union of its part boxes, the other leg's columns filled as LegSeg fills
them), the same intensity windows, mirrored like LegSeg's left-leg patches, and resampled onto
the network's input grid (104 x 104 in-plane, 20 slices per part length along z); then
``sliding_window_inference`` with windows of the patch size, overlap 0.5 and Gaussian blending,
in batches of the Segmenter's batch size, in the Segmenter's precision; then the probabilities
are resampled back onto the leg's box, and argmax and the same clean-up (labels in the air)
give the labels. Reported: the median wall seconds of both ends to end, of MONAI's sliding
window alone and LegSeg's forward alone, windows against patches, and the mean Dice over the
seven muscles between the two label maps.

MONAI is an optional dependency (``pip install -e ".[bench]"``, which pins its version).
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
import time
from typing import Any

import numpy as np

MISSING = ("MONAI comparison skipped: MONAI is not installed (pip install -e \".[bench]\" installs the pinned "
           "version)")
OVERLAP = 0.5


def monai_available() -> bool:
    """True when MONAI can be imported."""
    return importlib.util.find_spec("monai") is not None


def compare(job: dict[str, Any]) -> dict[str, Any]:
    """The worker: LegSeg and MONAI on ``job``'s model and scan, timed ``job['repeats']`` times each after a warm-up."""
    import monai

    from legseg_core.bench.precision_agreement import mean_dice
    from legseg_core.inference import FORWARD, Segmenter
    from legseg_core.io import load_volume

    segmenter = Segmenter(job["model"], job["device"], precision=job["precision"], batch_size=job["batch_size"])
    volume = load_volume(job["scan"])
    legseg_runs, monai_runs = [], []
    for _repeat in range(job["repeats"] + 1):  # the first of each is the warm-up
        start = time.perf_counter()
        result = segmenter.segment(volume)
        legseg_runs.append((time.perf_counter() - start, result.stages[FORWARD].wall))
        start = time.perf_counter()
        labels, sliding_s, windows = monai_labels(segmenter, volume)
        monai_runs.append((time.perf_counter() - start, sliding_s))
    legseg_s, forward_s = (statistics.median(run[i] for run in legseg_runs[1:]) for i in (0, 1))
    monai_s, sliding_s = (statistics.median(run[i] for run in monai_runs[1:]) for i in (0, 1))
    return {"monai_version": monai.__version__, "legseg_s": legseg_s, "legseg_forward_s": forward_s,
            "monai_s": monai_s, "monai_sliding_window_s": sliding_s, "patches": result.patches,
            "windows": windows, "speedup": monai_s / legseg_s, "dice": mean_dice(labels, result.labels),
            "changed_pct": 100.0 * float(np.mean(labels != result.labels))}


def monai_labels(segmenter: Any, volume: Any) -> tuple[np.ndarray, float, int]:
    """Labels of ``volume`` by MONAI's sliding window over each resampled leg, the seconds of the
    sliding windows alone, and the number of windows."""
    from legseg_core.labels_in_air import clean_up
    from legseg_core.preprocess.mask import body_mask, on_scan_grid
    from legseg_core.preprocess.planning import plan_patches

    body = body_mask(volume.data, volume.spacing, segmenter.config, volume.name)
    plan = plan_patches(volume, segmenter.config, body=body)
    labels = np.zeros(volume.shape, dtype=np.uint8)
    sliding_s, windows = 0.0, 0
    for side in plan.legs:
        leg = LegVolume(volume.data, plan, side)
        start = time.perf_counter()
        probabilities = _slide(segmenter, leg.image, plan.patch_shape)
        sliding_s += time.perf_counter() - start
        windows += _window_count(leg.image.shape, plan.patch_shape)
        leg.paste_labels(probabilities, labels)
    clean_up(labels, on_scan_grid(body, volume.shape), volume.spacing)
    return labels, sliding_s, windows


class LegVolume:
    """One leg over the whole scan length, cut, normalised and mirrored as LegSeg's patches of it
    are, and resampled onto the network's grid: ``image`` float32 ``[z, y, x]``."""

    def __init__(self, data: np.ndarray, plan: Any, side: str) -> None:
        from legseg_core.preprocess.resample import resize_linear

        self.plan, self.records = plan, [record for record in plan.records if record.leg == side]
        self.rows = (min(r.y[0] for r in self.records), max(r.y[1] for r in self.records))
        self.cols = (min(r.x[0] for r in self.records), max(r.x[1] for r in self.records))
        self.mirrored = self.records[0].mirrored
        box = np.stack([self._slice(data, z) for z in range(plan.scan_shape[0])])
        part = plan.parts[0][1] - plan.parts[0][0]
        self.grid = (max(plan.patch_shape[0], round(box.shape[0] * plan.patch_shape[0] / part)),
                     *plan.patch_shape[1:])
        image = resize_linear(box, self.grid, (0, 1, 2))
        self.image = np.ascontiguousarray(image[..., ::-1] if self.mirrored else image)

    def _record(self, z: int) -> Any:
        return next(record for record in self.records if record.z[0] <= z < record.z[1])

    def _slice(self, data: np.ndarray, z: int) -> np.ndarray:
        """Slice ``z`` of the box, normalised with its part's window, padded as LegSeg pads."""
        record = self._record(z)
        low, high = self.plan.config.normalise_range
        window_low, window_high = record.intensity
        box = np.full((self.rows[1] - self.rows[0], self.cols[1] - self.cols[0]), window_low, dtype=np.float32)
        (y0, y1), (x0, x1) = _inside(self.rows, self.cols, record.columns, self.plan.scan_shape)
        box[y0 - self.rows[0]: y1 - self.rows[0], x0 - self.cols[0]: x1 - self.cols[0]] = data[z, y0:y1, x0:x1]
        if window_high <= window_low:
            return np.full_like(box, low)
        return np.clip((box - window_low) * ((high - low) / (window_high - window_low)) + low, low, high)

    def paste_labels(self, probabilities: np.ndarray, labels: np.ndarray) -> None:
        """Resample ``[8, z, y, x]`` probabilities back onto the box and write their argmax into this
        leg's columns of ``labels``, slice by slice."""
        from legseg_core.preprocess.inverse import argmax_classes
        from legseg_core.preprocess.resample import resize_linear

        if self.mirrored:
            probabilities = probabilities[..., ::-1]
        box_shape = (self.plan.scan_shape[0], self.rows[1] - self.rows[0], self.cols[1] - self.cols[0])
        back = argmax_classes(resize_linear(np.ascontiguousarray(probabilities), box_shape, (1, 2, 3)))
        for z in range(self.plan.scan_shape[0]):
            (y0, y1), (x0, x1) = _inside(self.rows, self.cols, self._record(z).columns, self.plan.scan_shape)
            labels[z, y0:y1, x0:x1] = back[z, y0 - self.rows[0]: y1 - self.rows[0], x0 - self.cols[0]: x1 - self.cols[0]]


def _inside(rows: tuple[int, int], cols: tuple[int, int], columns: tuple[int, int],
            shape: tuple[int, int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    return ((max(rows[0], 0), min(rows[1], shape[1])),
            (max(cols[0], columns[0], 0), min(cols[1], columns[1], shape[2])))


def _slide(segmenter: Any, image: np.ndarray, window: tuple[int, int, int]) -> np.ndarray:
    """MONAI's sliding window over one leg image: probabilities float32 ``[8, z, y, x]``."""
    import torch
    from monai.inferers import sliding_window_inference

    batch = torch.from_numpy(image)[None, None].to(segmenter.device)
    with torch.inference_mode():
        output = sliding_window_inference(batch, window, segmenter.batch_size, segmenter.probabilities,
                                          overlap=OVERLAP, mode="gaussian")
    return output[0].float().cpu().numpy()


def _window_count(shape: tuple[int, ...], window: tuple[int, int, int]) -> int:
    """Windows MONAI's sliding window takes over ``shape`` (the scan interval of each axis is
    ``window * (1 - overlap)``, as in ``monai.inferers.utils._get_scan_interval``)."""
    count = 1
    for size, roi in zip(shape, window):
        interval = max(int(roi * (1 - OVERLAP)), 1)
        count *= 1 if size <= roi else -(-(size - roi) // interval) + 1
    return count


def rows(label: str, figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of the benchmark table: LegSeg, then MONAI, on one scan."""
    return [{"network": "unet/lite", "scan": label, "stage": "side by side: LegSeg end to end",
             "wall_s": round(figures["legseg_s"], 3), "forward_s": round(figures["legseg_forward_s"], 3),
             "patches": figures["patches"]},
            {"network": "unet/lite", "scan": label,
             "stage": f"side by side: MONAI {figures['monai_version']} sliding window end to end",
             "wall_s": round(figures["monai_s"], 3), "forward_s": round(figures["monai_sliding_window_s"], 3),
             "patches": figures["windows"], "ratio": round(figures["speedup"], 3),
             "dice": round(figures["dice"], 4), "changed_pct": round(figures["changed_pct"], 3)}]


if __name__ == "__main__":  # the worker process of legseg_core.bench.inference.run_worker
    print(json.dumps(compare(json.loads(sys.argv[1]))))
