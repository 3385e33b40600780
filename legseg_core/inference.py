"""The Segmenter: a model file and a device turn a scan into labels, probabilities and uncertainty.

``Segmenter(path_or_name, device=None).segment(volume)`` cuts the canonical ``[z, y, x]`` scan
into patches with the preprocessing its model was trained with (the model card's), runs the
network on them in batches, and maps the patch probabilities back onto the scan's own grid:

- ``labels``: uint8 ``[z, y, x]``, 0 background, 1..7 the muscles;
- ``uncertainty``: float32 ``[z, y, x]``, the entropy of the class probabilities divided by
  log(8), so 0 is certain and 1 is uniform;
- ``uncertainty_score``: the mean uncertainty over the voxels labelled as muscle;
- ``probabilities``: float32 ``[8, z, y, x]``, kept only when asked for (8 floats a voxel).

``segment_steps(volume)`` is the same work as a progress generator (one event per batch of
patches) that the GUI and the command line drive and may cancel. The device is CUDA, then
Apple MPS, then the CPU, unless one is named. Reduced precision (``precision="auto"``) is used
only where it was measured to change at most 0.5% of the voxel labels (see :data:`AUTO_PRECISION`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from legseg_core.errors import LegsegError, ModelError
from legseg_core.io import Volume
from legseg_core.labels import NUM_CLASSES
from legseg_core.labels_in_air import clean_up
from legseg_core.progress import CancelToken, Progress, ProgressWork, run_quietly
from legseg_core.stages import StageClock, StageTime, ThreadShares
from legseg_core.training.runtime import cpu_has_native_bf16  # one answer for training and inference

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "fp16")

#: Reduced precision that ``precision="auto"`` uses per device type: only where it changed at most
#: 0.5% of the voxel labels against fp32. Measured with ``legseg bench inference --agreement 300``
#: (a lite U-Net trained for 300 s on four phantoms, segmenting a held-out one): bf16 changed
#: 0.26% of the muscle voxels' labels (0.04% of all voxels), fp16 0.05% (0.007%). fp16 ran
#: through CPU autocast, standing in for CUDA's (both accumulate in float32). bf16 is used on a
#: CPU only when it has native bf16 (emulated bf16 ran about 30 times slower than fp32 here);
#: MPS stays at fp32 (not measured).
AUTO_PRECISION: dict[str, str] = {"cuda": "fp16", "cpu": "bf16", "mps": "fp32"}

#: The stages of a segmentation, in order, as ``Segmentation.stages`` names them: the body mask, the
#: legs and the patch plan; cutting and resampling the patches; the network; resampling the patch
#: probabilities back onto the scan; argmax and entropy; the clean-up (labels in the air, stray pieces).
MASK, PATCHES, FORWARD, WAY_BACK, REDUCE, CLEAN_UP = ("leg split and mask", "resampling to patches", "forward",
                                                      "way back", "argmax and entropy", "clean-up")
STAGES = (MASK, PATCHES, FORWARD, WAY_BACK, REDUCE, CLEAN_UP)

#: Patches per forward pass by device type (on 2 CPU cores, 5 patches a pass took 20% less CPU time than 2).
DEFAULT_BATCH = {"cuda": 8, "mps": 4, "cpu": 5}


class DeviceError(LegsegError):
    """A device name is unknown, or the device is not available on this machine."""


def pick_device(requested: str | None = None) -> torch.device:
    """The torch device to run on: ``None``/``'auto'`` picks CUDA, then MPS, then the CPU."""
    import torch

    if requested in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(str(requested))
    except RuntimeError:
        raise DeviceError(f"unknown device {requested!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
        raise DeviceError(f"device {requested!r} is not available: this machine has "
                          f"{torch.cuda.device_count() if torch.cuda.is_available() else 'no'} CUDA GPU(s)")
    if device.type == "mps" and not _mps_available():
        raise DeviceError(f"device {requested!r} is not available: Apple MPS needs a Mac with Metal")
    if device.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"device {requested!r} is not supported; use auto, cpu, cuda, cuda:N or mps")
    return device


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_precision(requested: str, device: torch.device) -> str:
    """The arithmetic to run in: fp32, bf16 or fp16 (``auto`` follows :data:`AUTO_PRECISION`)."""
    if requested not in PRECISIONS:
        raise ModelError(f"unknown precision {requested!r}; choose one of {', '.join(PRECISIONS)}")
    if requested != "auto":
        return requested
    choice = AUTO_PRECISION.get(device.type, "fp32")
    if choice == "bf16" and device.type == "cpu" and not cpu_has_native_bf16():
        return "fp32"  # emulated bf16 is many times slower than fp32
    return choice


@dataclass(frozen=True)
class Segmentation:
    """The result of segmenting one scan; arrays are on the scan's canonical ``[z, y, x]`` grid.

    ``timings`` holds wall seconds (``preprocess``, ``forward``, ``postprocess``, ``total``);
    ``legs`` the sides of the legs as segmented, in x order (``("right", "left")`` for two);
    ``stages`` the wall and CPU seconds of each stage of :data:`STAGES`.
    """

    labels: np.ndarray
    uncertainty: np.ndarray
    uncertainty_score: float
    probabilities: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    precision: str = "fp32"
    patches: int = 0
    model_id: str = ""
    legs: tuple[str, ...] = ()
    stages: dict[str, StageTime] = field(default_factory=dict)

    def muscle_voxels(self) -> dict[int, int]:
        """Voxel count per muscle id 1..7."""
        counts = np.bincount(self.labels.ravel(), minlength=NUM_CLASSES)
        return {label: int(counts[label]) for label in range(1, NUM_CLASSES)}


@dataclass(frozen=True)
class PatchSetResult:
    """One set of patches segmented and put back on the scan's ``[z, y, x]`` grid: its uncertainty
    score (lower is surer), labels, uncertainty map, class probabilities (when asked) and the sides of
    the legs as this set read them."""

    score: float
    labels: np.ndarray
    uncertainty: np.ndarray
    probabilities: np.ndarray | None
    legs: tuple[str, ...]


class Segmenter:
    """A loaded model on a device, ready to segment scans.

    ``model`` is a model file path, a model name (see :func:`legseg_core.model_lookup.resolve_model`)
    or a ``(network, card)`` pair; ``device`` a torch device string or None for the best one;
    ``precision`` one of auto, fp32, bf16, fp16; ``batch_size`` patches per forward pass; ``leg``
    the side of the leg in single-leg scans (``auto``: from the scan's metadata, else its place in
    the field of view, else, for a centred leg, the side the network is more certain of; a left leg
    taken for a right one would be segmented as its mirror image).
    """

    def __init__(self, model: Any, device: str | None = None, *, precision: str = "auto",
                 batch_size: int | None = None, leg: str = "auto") -> None:
        from dataclasses import replace

        from legseg_core.preprocess import PreprocessConfig
        from legseg_core.preprocess.config import SINGLE_LEG_SIDES

        if leg not in SINGLE_LEG_SIDES:
            raise ModelError(f"leg={leg!r} must be one of {', '.join(SINGLE_LEG_SIDES)}")

        self.device = pick_device(device)
        self.precision = pick_precision(precision, self.device)
        self.network, self.card = _load(model, self.device)
        self.channels_last = self.device.type == "cpu"
        if self.channels_last:  # oneDNN's 3D convolutions took about 1.5x less CPU time in this layout
            self.network = self.network.to(memory_format=_torch().channels_last_3d)
        self.config = PreprocessConfig.from_dict(dict(self.card.preprocessing)) if self.card.preprocessing \
            else PreprocessConfig()
        if leg != "auto":  # the side of a single-leg scan, which its position cannot always tell
            self.config = replace(self.config, single_leg_side=leg)
        self.batch_size = batch_size if batch_size is not None else DEFAULT_BATCH.get(self.device.type, 2)
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ModelError(f"batch_size={batch_size!r} must be a whole number >= 1")
        log.info("segmenter: model %s on %s in %s", self.card.model_id, self.device, self.precision)

    def segment(self, volume: Volume, *, probabilities: bool = False) -> Segmentation:
        """Segment one scan (see :meth:`segment_steps`)."""
        return run_quietly(self.segment_steps(volume, probabilities=probabilities))

    def segment_steps(self, volume: Volume, *, probabilities: bool = False,
                      cancel: CancelToken | None = None) -> ProgressWork[Segmentation]:
        """Segment one scan, yielding a Progress event after each stage and each batch of patches.

        A single leg in the middle of the field of view, whose side neither the scan nor the
        ``leg`` setting tells, is segmented both as a right and as a left (mirrored) leg, and the
        more certain result (lower uncertainty score) is kept: a network that learned right legs
        is less sure of a mirror image. The seconds of each stage (:data:`STAGES`) are in the
        result's ``stages``.
        """
        from legseg_core.preprocess import extract_image_patches

        clock = StageClock()
        plans, body = self._plan(volume, clock)
        with clock.stage(PATCHES):
            images = [extract_image_patches(volume.data, plan) for plan in plans]
        count = sum(len(patches) for patches in images)
        total = sum(math.ceil(len(patches) / self.batch_size) for patches in images) + 2
        yield Progress(1, total, f"{volume.name}: {count} patches", {"patches": count})
        _check(cancel, volume)
        done, results = 1, []
        for plan, patches in zip(plans, images):
            result = yield from self._segment_patches(patches, plan, volume, body, probabilities, cancel,
                                                      (done, total), clock)
            done += math.ceil(len(patches) / self.batch_size)
            results.append(result)
        best = min(results, key=lambda result: result.score)
        if len(results) > 1:
            log.warning("%s: one leg in the middle of the field of view; segmented as a right and as a left leg, "
                        "kept the %s leg (uncertainty %.3f against %.3f); if that is wrong, say which it is "
                        "(legseg segment --leg left|right)", volume.name, best.legs[0], best.score,
                        max(result.score for result in results))
        yield Progress(total, total, f"{volume.name}: done")
        return Segmentation(labels=best.labels, uncertainty=best.uncertainty, uncertainty_score=best.score,
                            probabilities=best.probabilities, timings=summary_timings(clock.stages),
                            device=str(self.device), precision=self.precision, patches=count,
                            model_id=self.card.model_id, legs=best.legs, stages=dict(clock.stages))

    def _plan(self, volume: Volume, clock: StageClock) -> tuple[list[Any], Any]:
        """The patch plans of a scan (two for a centred leg of unknown side) and its body mask (a
        :class:`~legseg_core.preprocess.mask.BodyMask`), found once."""
        from dataclasses import replace

        from legseg_core.preprocess.mask import body_mask
        from legseg_core.preprocess.planning import check_scan, plan_patches

        with clock.stage(MASK):
            check_scan(volume.data, volume.name, self.config)
            body = body_mask(volume.data, volume.spacing, self.config, volume.name)
            plans = [plan_patches(volume, self.config, body=body)]
            if plans[0].side_guessed:
                plans.append(plan_patches(volume, replace(self.config, single_leg_side="left"), body=body))
            return plans, body

    def _segment_patches(self, images: np.ndarray, plan: Any, volume: Volume, body: Any, probabilities: bool,
                         cancel: CancelToken | None, progress: tuple[int, int],
                         clock: StageClock) -> ProgressWork[PatchSetResult]:
        """The segmentation of one set of patches (one reading of the legs); adds its seconds to ``clock``."""
        with clock.stage(FORWARD):
            outputs = yield from self._forward_all(images, volume, cancel, *progress)
        with clock.split((WAY_BACK, REDUCE)) as shares:
            labels, uncertainty, scan_probabilities = labels_and_uncertainty(outputs, plan, probabilities=probabilities,
                                                                             shares=shares)
        with clock.stage(CLEAN_UP):
            clean_up(labels, body, volume.spacing)
            score = uncertainty_score(uncertainty, labels)
        return PatchSetResult(score, labels, uncertainty, scan_probabilities, tuple(plan.legs))

    def _body(self, volume: Volume) -> np.ndarray:
        """The scan's body mask (bool ``[z, y, x]``), as the preprocessing finds it."""
        from legseg_core.preprocess.mask import body_mask, on_scan_grid

        return on_scan_grid(body_mask(volume.data, volume.spacing, self.config, volume.name), volume.shape)

    def _forward_all(self, images: np.ndarray, volume: Volume, cancel: CancelToken | None, done: int,
                     total: int) -> ProgressWork[np.ndarray]:
        """Probabilities ``[n, 8, z, y, x]`` of all patches, a batch at a time, with progress."""
        count, outputs = len(images), None
        for index, first in enumerate(range(0, count, self.batch_size)):
            last = min(first + self.batch_size, count)
            batch = self.forward(images[first:last])
            if last - first == count:
                outputs = batch  # one batch: no copy into a buffer
            else:
                if outputs is None:
                    outputs = np.empty((count, *batch.shape[1:]), dtype=np.float32)
                outputs[first:last] = batch
            yield Progress(done + index + 1, total, f"{volume.name}: patches {last}/{count}")
            _check(cancel, volume)
        return outputs

    def forward(self, images: np.ndarray) -> np.ndarray:
        """Probabilities float32 ``[n, 8, z, y, x]`` for image patches ``[n, z, y, x]``, in one pass."""
        import torch

        batch = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))[:, None].to(self.device)
        return self.probabilities(batch).cpu().numpy()

    def probabilities(self, batch: "torch.Tensor") -> "torch.Tensor":  # noqa: F821
        """Class probabilities float32 ``[n, 8, z, y, x]`` of a batch ``[n, 1, z, y, x]`` on the device,
        in the Segmenter's precision and memory layout."""
        import torch

        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last_3d)
        with torch.inference_mode():
            with torch.autocast(self.device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                logits = self.network.logits(batch)
            # softmax in float32: in bf16 the class probabilities would sum to 1 only within a few thousandths
            return torch.softmax(logits.float(), dim=1)


def summary_timings(stages: dict[str, StageTime]) -> dict[str, float]:
    """Wall seconds of the preprocessing (mask, patches), the forward, the postprocessing and the total."""
    def wall(*names: str) -> float:
        return sum(stages[name].wall for name in names if name in stages)

    return {"preprocess": wall(MASK, PATCHES), "forward": wall(FORWARD),
            "postprocess": wall(WAY_BACK, REDUCE, CLEAN_UP), "total": wall(*stages)}


def labels_and_uncertainty(outputs: np.ndarray, plan: Any, *, probabilities: bool = False,
                           shares: ThreadShares | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Argmax labels uint8, normalised entropy float32 ``[z, y, x]`` and, if asked, the class
    probabilities float32 ``[8, z, y, x]`` on the scan's grid, from the patches' probabilities.

    The probabilities are resampled and reduced a few slices at a time on a thread pool (see
    :func:`legseg_core.preprocess.reduce_covered`, which counts its CPU seconds in ``shares``); outside
    the legs' box the scan is certain background (label 0, uncertainty 0, probability 1 of class 0).
    """
    from legseg_core.preprocess import background_probabilities, reduce_covered

    labels = np.zeros(plan.scan_shape, dtype=np.uint8)
    uncertainty = np.zeros(plan.scan_shape, dtype=np.float32)
    kept = background_probabilities(plan) if probabilities else None

    def reduce(where: tuple[slice, slice, slice], covered: np.ndarray) -> None:  # each call writes only where
        labels[where], uncertainty[where] = classify(covered)
        if kept is not None:
            kept[(slice(None), *where)] = covered

    reduce_covered(outputs, plan, reduce, shares)
    return labels, uncertainty, kept


def classify(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Argmax labels uint8 (the first class on ties) and entropy over log(classes), float32 in
    0..1, of ``[classes, z, y, x]`` probabilities, in one pass over the classes with no temporary
    larger than one class (the reduction of the way back runs this on every run of slices)."""
    classes = probabilities.shape[0]
    best = probabilities[0].astype(np.float32, copy=True)
    labels = np.zeros(best.shape, dtype=np.uint8)
    entropy = np.zeros(best.shape, dtype=np.float32)
    term = np.empty(best.shape, dtype=np.float32)
    better = np.empty(best.shape, dtype=bool)
    for index in range(classes):
        p = probabilities[index]
        if index:
            np.greater(p, best, out=better)
            np.copyto(labels, index, where=better)
            np.maximum(best, p, out=best)
        np.maximum(p, 1e-12, out=term)
        np.log(term, out=term)
        term *= p
        entropy -= term
    entropy *= 1.0 / math.log(classes)
    np.clip(entropy, 0.0, 1.0, out=entropy)
    return labels, entropy


def normalised_entropy(probabilities: np.ndarray) -> np.ndarray:
    """Entropy of ``[classes, z, y, x]`` probabilities over log(classes): float32 ``[z, y, x]`` in 0..1."""
    return classify(probabilities)[1]


def uncertainty_score(uncertainty: np.ndarray, labels: np.ndarray) -> float:
    """Mean normalised entropy over the voxels labelled as muscle; 1.0 (fully uncertain) if there are none."""
    muscle = labels > 0
    return float(uncertainty[muscle].mean()) if muscle.any() else 1.0


def _torch():
    import torch

    return torch


def _check(cancel: CancelToken | None, volume: Volume) -> None:
    if cancel is not None:
        cancel.raise_if_cancelled(f"segmentation of {volume.name}")


def _load(model: Any, device: torch.device) -> tuple[Any, Any]:
    from legseg_core.model_lookup import resolve_model
    from legseg_core.models import load_checkpoint
    from legseg_core.models.card import ModelCard, check_label_map

    if isinstance(model, (str, Path)):
        network, card = load_checkpoint(resolve_model(model), device=device)
        return network, card
    if not isinstance(model, tuple) or len(model) != 2 or not isinstance(model[1], ModelCard):
        raise ModelError(f"a Segmenter takes a model file, a model name or a (network, ModelCard) pair, "
                         f"not {type(model).__name__}")
    network, card = model
    check_label_map(card, source=f"model {card.model_id or card.architecture}")
    if getattr(network, "out_channels", None) != NUM_CLASSES:
        raise ModelError(f"the network has {getattr(network, 'out_channels', '?')} output channels; "
                         f"a Segmenter needs {NUM_CLASSES} (background plus seven muscles)")
    return network.to(device).eval(), card
