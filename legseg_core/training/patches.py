"""Training patches in memory, and their cache on disk.

A :class:`LabelledPatches` holds network patches of one or more cases: ``images`` float32
``[n, z, y, x]`` (range-normalised 0..100 by preprocessing), ``labels`` uint8 ``[n, z, y, x]``
with ids 0..7, and the case id of each patch, so that train and validation are split by whole
cases. :class:`PatchCache` keeps the patches of one (image, label version, preprocessing
settings) triple on disk as ``<folder>/<key>.npz`` and in memory, the key being a sha256 of the
image and label checksums and the settings: preprocessing runs once per label version, and a
changed setting or a new label version simply gets a new key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from legseg_core.atomic import write_atomically
from legseg_core.errors import TrainingError

log = logging.getLogger(__name__)

#: Bump when the cached arrays change meaning, so old cache files are no longer used.
CACHE_FORMAT = 1


@dataclass(frozen=True)
class LabelledPatches:
    """Patches ``images`` float32 ``[n, z, y, x]``, ``labels`` uint8 ``[n, z, y, x]``, one case id per patch."""

    images: np.ndarray
    labels: np.ndarray
    case_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.shape != self.labels.shape:
            raise TrainingError(f"patches: images {self.images.shape} and labels {self.labels.shape} must both be "
                                "[n, z, y, x] of one shape")
        if len(self.case_ids) != self.images.shape[0]:
            raise TrainingError(f"patches: {len(self.case_ids)} case ids for {self.images.shape[0]} patches")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def cases(self) -> tuple[str, ...]:
        """The case ids in order of first appearance."""
        return tuple(dict.fromkeys(self.case_ids))

    @property
    def patch_shape(self) -> tuple[int, int, int]:
        """``(z, y, x)`` voxels of one patch."""
        return tuple(int(n) for n in self.images.shape[1:])  # type: ignore[return-value]

    def select_cases(self, cases: Iterable[str]) -> "LabelledPatches":
        """The patches of the given cases (in this set's order)."""
        wanted = set(cases)
        index = np.array([i for i, case in enumerate(self.case_ids) if case in wanted], dtype=np.int64)
        return self.take(index)

    def take(self, index: np.ndarray) -> "LabelledPatches":
        """The patches at the given positions."""
        index = np.asarray(index, dtype=np.int64)
        return LabelledPatches(self.images[index], self.labels[index], tuple(self.case_ids[i] for i in index))

    @classmethod
    def concatenate(cls, sets: Sequence["LabelledPatches"]) -> "LabelledPatches":
        """One set holding the patches of all ``sets``; an empty sequence is refused."""
        if not sets:
            raise TrainingError("no patches to train on: the selection holds no case")
        shapes = {s.patch_shape for s in sets}
        if len(shapes) > 1:
            raise TrainingError(f"patches of different shapes cannot be mixed: {sorted(shapes)}")
        return cls(np.concatenate([s.images for s in sets]), np.concatenate([s.labels for s in sets]),
                   tuple(case for s in sets for case in s.case_ids))


def split_cases(cases: Sequence[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Shuffle ``cases`` once with ``seed`` and hold out ``fraction`` of them (at least one when
    there are two or more cases and the fraction is above 0): returns (train, validation)."""
    order = list(cases)
    np.random.default_rng(seed).shuffle(order)
    held = int(round(fraction * len(order)))
    if fraction > 0 and len(order) >= 2:
        held = min(max(held, 1), len(order) - 1)
    return order[held:], order[:held]


def cache_key(image_sha256: str, label_sha256: str, settings: dict[str, Any]) -> str:
    """The cache key (hex sha256) of one image, one label version and the preprocessing settings."""
    text = json.dumps({"format": CACHE_FORMAT, "image": image_sha256, "labels": label_sha256,
                       "settings": settings}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PatchCache:
    """Patches by key, in memory (the ``memory_items`` most recently used) and as npz files on disk.

    ``folder=None`` keeps them in memory only. Files are written to a temporary name and renamed,
    so a crash never leaves a half-written cache entry; an unreadable entry is rebuilt.
    """

    def __init__(self, folder: str | os.PathLike[str] | None = None, *, memory_items: int = 256) -> None:
        self.folder = None if folder is None else Path(folder)
        self.memory_items = memory_items
        self._memory: OrderedDict[str, LabelledPatches] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get_or_make(self, key: str, make: Callable[[], LabelledPatches]) -> LabelledPatches:
        """The patches under ``key``, made with ``make()`` and stored when not cached yet."""
        found = self._memory.get(key)
        if found is None:
            found = self._read(key)
        if found is None:
            self.misses += 1
            found = make()
            self._write(key, found)
        else:
            self.hits += 1
        self._remember(key, found)
        return found

    def path(self, key: str) -> Path | None:
        """Where the entry of ``key`` lives on disk (None for a memory-only cache)."""
        return None if self.folder is None else self.folder / f"{key}.npz"

    def _remember(self, key: str, patches: LabelledPatches) -> None:
        self._memory[key] = patches
        self._memory.move_to_end(key)
        while len(self._memory) > self.memory_items:
            self._memory.popitem(last=False)

    def _read(self, key: str) -> LabelledPatches | None:
        path = self.path(key)
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as archive:
                return LabelledPatches(archive["images"], archive["labels"], tuple(str(c) for c in archive["case_ids"]))
        except (OSError, ValueError, KeyError, TrainingError) as error:
            log.warning("patch cache entry %s is unreadable (%s); rebuilding it", path, error)
            return None

    def _write(self, key: str, patches: LabelledPatches) -> None:
        path = self.path(key)
        if path is None:
            return
        write_atomically(path, lambda handle: np.savez(handle, images=patches.images, labels=patches.labels,
                                                       case_ids=np.array(patches.case_ids, dtype=str)),
                         make_folder=True)
