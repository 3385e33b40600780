"""Small stores, phantom cases, tiny model files and window helpers for the application tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import Qt

from legseg_core.store import Store
from legseg_gui.app.main_window import MainWindowWidget


def tiny_phantom(seed: int = 1) -> Any:
    """A tiny bilateral phantom case (20 x 64 x 96 voxels, T1w) with its ground-truth labels."""
    from legseg_core.phantom import make_case

    return make_case(seed=seed, protocol="B", size="tiny", contrasts=("t1w",))


def store_with_case(root: Path, *, labelled: bool = True, seed: int = 1, **metadata: Any) -> tuple[Store, str]:
    """A new store holding one phantom case (with its ground truth as a synthetic version if ``labelled``)."""
    phantom = tiny_phantom(seed)
    store = Store.init(root)
    fields = {"contrast": "t1w", "health": "healthy", **metadata}
    case = store.add_case(phantom.images["t1w"], **fields)
    if labelled:
        store.add_label_version(case.id, phantom.labels.data, provenance="synthetic:phantom")
    return store, case.id


def tiny_model_file(path: Path, seed: int = 0) -> Path:
    """A randomly initialised, very small U-Net saved as a LegSeg model file (a few kB)."""
    import torch

    from legseg_core.models import ModelCard, build_model, save_checkpoint

    torch.manual_seed(seed)
    network = build_model("unet", "lite", channels=(2, 4), strides=((1, 2, 2),))
    return save_checkpoint(network, ModelCard.for_network(network, name="tiny-test-unet"), path)


def muscle_mask(labels: np.ndarray, muscle: int) -> np.ndarray:
    """Where a muscle is, as a boolean array."""
    return np.asarray(labels) == muscle


class TimerGaps:
    """A Qt timer firing every ``interval_ms``; the gaps between firings tell how responsive the event
    loop stayed.

    On a loaded machine the loop can miss a few firings for reasons of its own (the scheduler, the
    garbage collector), so tests judge the share of the time spent in long gaps, not the longest
    gap: :meth:`assert_responsive` passes with a few hiccups and fails when the UI thread does the
    work itself (then one gap spans nearly all of it).
    """

    #: A gap longer than this is a stall (seconds).
    STALL_SECONDS = 0.25
    #: At most this share of the measured time may be spent in stalls.
    MAX_STALLED_SHARE = 0.5

    def __init__(self, interval_ms: int = 20) -> None:
        import time

        from qtpy.QtCore import QTimer

        self._clock = time.perf_counter
        self.times: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(lambda: self.times.append(self._clock()))

    def start(self) -> "TimerGaps":
        self.times = [self._clock()]
        self.timer.start()
        return self

    def stop(self) -> float:
        """Stop, and return the longest gap in seconds (the time since the last firing counts too)."""
        self.timer.stop()
        self.times.append(self._clock())
        return self.max_gap

    @property
    def gaps(self) -> list[float]:
        return [b - a for a, b in zip(self.times, self.times[1:])]

    @property
    def max_gap(self) -> float:
        return max(self.gaps, default=0.0)

    def stalled_share(self, threshold: float = STALL_SECONDS) -> float:
        """The share of the measured time spent in gaps longer than ``threshold`` seconds (0..1)."""
        span = self.times[-1] - self.times[0] if len(self.times) > 1 else 0.0
        return sum(gap for gap in self.gaps if gap > threshold) / span if span > 0 else 0.0

    def assert_responsive(self, doing: str) -> None:
        """Fail when the event loop stalled for more than :data:`MAX_STALLED_SHARE` of the time ``doing`` ran."""
        share = self.stalled_share()
        stalls = [gap for gap in self.gaps if gap > self.STALL_SECONDS]
        span = self.times[-1] - self.times[0] if len(self.times) > 1 else 0.0
        assert share <= self.MAX_STALLED_SHARE, (
            f"the event loop stalled for {share:.0%} of the {span:.2f} s {doing}: {len(stalls)} gap(s) over "
            f"{self.STALL_SECONDS} s, the longest {self.max_gap:.3f} s")


TINY_TRAINING = {"model_options": {"channels": [2, 4], "strides": [[1, 2, 2]], "norm": "instance"},
                 "recipe_options": {"precision": "fp32", "batch_size": 2},
                 "preprocess": {"patch_shape": [8, 32, 32]}}


def add_accepted_phantom(store: Store, seed: int) -> Any:
    """An accepted tiny phantom case (synthetic ground truth); returns its record."""
    phantom = tiny_phantom(seed)
    case = store.add_case(phantom.images["t1w"], contrast="t1w", health="healthy")
    version = store.add_label_version(case.id, phantom.labels.data, provenance="synthetic:phantom")
    return store.accept(case.id, version.id)


def store_ready_to_finetune(root: Path) -> tuple[Store, str]:
    """A store with an active tiny model trained on one case, a validation case, and one accepted train case
    the model has not seen; returns the store and the active model id."""
    import torch

    from legseg_core.progress import run_quietly
    from legseg_core.store import SplitConfig
    from legseg_core.training.session import TrainRequest, train_from_store

    store = Store.init(root, splits=SplitConfig(0.67, 0.33, 0.0))  # train, validation, then train again
    for seed in (1, 2):
        add_accepted_phantom(store, seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_quietly(train_from_store(store, TrainRequest(epochs=1, device="cpu", **TINY_TRAINING)))
    finally:
        torch.set_num_threads(threads)
    add_accepted_phantom(store, 3)
    from legseg_core.training.registry import ModelRegistry

    return store, ModelRegistry(store).require_active().id


WINDOW_SIZE = (1300, 850)


class Answers:
    """Stands in for the window's questions: records them and answers from a list (or the default)."""

    def __init__(self, *answers: str) -> None:
        self.answers, self.asked = list(answers), []

    def __call__(self, title: str, text: str, choices: tuple[str, ...], default: str) -> str:
        self.asked.append(title)
        return self.answers.pop(0) if self.answers else default


def make_window(qtbot, store, *answers: str, **options) -> MainWindowWidget:
    window = MainWindowWidget(store, **options)
    window.ask = Answers(*answers)
    window.report_error = lambda text: pytest.fail(f"the window reported an error: {text}")
    qtbot.addWidget(window)
    window.resize(*WINDOW_SIZE)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    return window


def drag(qtbot, window: MainWindowWidget, points: list[tuple[float, float]]) -> None:
    """A left-button drag over the image view through voxel positions (y, x) of the shown slice."""
    canvas = window.view.canvas
    positions = [canvas.viewport_point(y, x) for y, x in points]
    qtbot.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, pos=positions[0])
    for position in positions[1:]:
        qtbot.mouseMove(canvas.viewport(), position)
    qtbot.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, pos=positions[-1])


def background_row(labels: np.ndarray, z: int) -> int:
    """A row of slice z with no muscle (the brush paints there without touching any muscle)."""
    return int(np.flatnonzero(~labels[z].any(axis=1))[0])
